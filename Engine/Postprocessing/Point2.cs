namespace Engine.Postprocessing;

/// <summary>A point in pixel coordinates (x to the right, y down).</summary>
public readonly record struct Point2(float X, float Y)
{
    public static Point2 operator +(Point2 a, Point2 b) => new(a.X + b.X, a.Y + b.Y);

    public static Point2 operator -(Point2 a, Point2 b) => new(a.X - b.X, a.Y - b.Y);

    public static Point2 operator *(Point2 a, float k) => new(a.X * k, a.Y * k);

    public float Length => MathF.Sqrt((X * X) + (Y * Y));
}
