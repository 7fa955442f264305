namespace Engine.Imaging;

/// <summary>A point in image pixel coordinates (x to the right, y down).</summary>
public readonly record struct PointF(float X, float Y);
