namespace Engine.Postprocessing;

/// <summary>A rectangle at any angle: a centre, a unit axis along its width, and its two side lengths.</summary>
internal readonly record struct RotatedRect(Point2 Center, Point2 Axis, float Width, float Height)
{
    public float ShortSide => MathF.Min(Width, Height);

    /// <summary>The same rectangle with every side moved outward by <paramref name="distance"/>.</summary>
    public RotatedRect Grow(float distance) => this with { Width = Width + (2 * distance), Height = Height + (2 * distance) };

    /// <summary>Corners ordered as PaddleOCR's get_mini_boxes: top-left, top-right, bottom-right, bottom-left.</summary>
    public (Point2 TopLeft, Point2 TopRight, Point2 BottomRight, Point2 BottomLeft) OrderedCorners()
    {
        var u = Axis * (Width / 2);
        var v = new Point2(-Axis.Y, Axis.X) * (Height / 2);
        Point2[] corners = [Center - u - v, Center + u - v, Center + u + v, Center - u + v];
        Array.Sort(corners, (a, b) => a.X.CompareTo(b.X));
        var (topLeft, bottomLeft) = corners[1].Y > corners[0].Y ? (corners[0], corners[1]) : (corners[1], corners[0]);
        var (topRight, bottomRight) = corners[3].Y > corners[2].Y ? (corners[2], corners[3]) : (corners[3], corners[2]);
        return (topLeft, topRight, bottomRight, bottomLeft);
    }

    /// <summary>The minimum-area enclosing rectangle of a convex polygon (rotating calipers over its edges).</summary>
    public static RotatedRect MinAreaOf(IReadOnlyList<Point2> hull)
    {
        if (hull.Count == 0)
        {
            return default;
        }

        if (hull.Count == 1)
        {
            return new RotatedRect(hull[0], new Point2(1, 0), 0, 0);
        }

        var bestArea = float.PositiveInfinity;
        RotatedRect best = default;
        for (var i = 0; i < hull.Count; i++)
        {
            var edge = hull[(i + 1) % hull.Count] - hull[i];
            var length = edge.Length;
            if (length < 1e-6f)
            {
                continue;
            }

            var u = edge * (1 / length);
            var v = new Point2(-u.Y, u.X);
            float minU = float.PositiveInfinity, maxU = float.NegativeInfinity, minV = float.PositiveInfinity, maxV = float.NegativeInfinity;
            foreach (var p in hull)
            {
                var d = p - hull[i];
                var pu = (d.X * u.X) + (d.Y * u.Y);
                var pv = (d.X * v.X) + (d.Y * v.Y);
                minU = MathF.Min(minU, pu);
                maxU = MathF.Max(maxU, pu);
                minV = MathF.Min(minV, pv);
                maxV = MathF.Max(maxV, pv);
            }

            var area = (maxU - minU) * (maxV - minV);
            if (area < bestArea - 1e-4f)
            {
                bestArea = area;
                var center = hull[i] + (u * ((minU + maxU) / 2)) + (v * ((minV + maxV) / 2));
                best = new RotatedRect(center, u, maxU - minU, maxV - minV);
            }
        }

        return best;
    }
}
