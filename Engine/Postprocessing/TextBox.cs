using Contracts.Models;

namespace Engine.Postprocessing;

/// <summary>A detected text region: four corners clockwise from the top-left, and its detection score.</summary>
public sealed record TextBox(Point2 TopLeft, Point2 TopRight, Point2 BottomRight, Point2 BottomLeft, float Score)
{
    public Point2[] Points => [TopLeft, TopRight, BottomRight, BottomLeft];

    /// <summary>Length of the top edge.</summary>
    public float Width => (TopRight - TopLeft).Length;

    /// <summary>Length of the left edge.</summary>
    public float Height => (BottomLeft - TopLeft).Length;

    public float[][] ToArray() => [.. Points.Select(p => new[] { p.X, p.Y })];

    public DetectedBox ToDetectedBox() => new(ToArray(), Score);
}
