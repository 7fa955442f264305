namespace Engine.Postprocessing;

/// <summary>
/// Joins the pieces of one text line that the detector returned as separate boxes. DB splits a line where its
/// probability map dips (seen on upside-down lines: "Energy a" + "amount kitchen early table!"), and each piece is
/// then read on its own, losing or doubling the letters at the cut.
/// </summary>
public static class SplitLineMerger
{
    // Pieces of one line: both nearly horizontal, of about the same height, sharing most of their vertical extent and
    // touching, overlapping, or no further apart than a word gap.
    private const float MaxTiltDegrees = 10;
    private const float MinVerticalOverlap = 0.6f;
    private const float MaxHeightRatio = 1.5f;
    private const float MaxGap = 0.5f;

    /// <summary>The boxes with each line's pieces replaced by the axis-aligned rectangle around them, in reading order.</summary>
    public static IReadOnlyList<TextBox> Merge(IReadOnlyList<TextBox> boxes)
    {
        var result = boxes.ToList();
        bool merged;
        do
        {
            merged = false;
            for (var i = 0; i < result.Count && !merged; i++)
            {
                for (var j = i + 1; j < result.Count && !merged; j++)
                {
                    if (OneLine(result[i], result[j]))
                    {
                        result[i] = Union(result[i], result[j]);
                        result.RemoveAt(j);
                        merged = true;
                    }
                }
            }
        }
        while (merged);

        return result.Count == boxes.Count ? boxes : ReadingOrder.Sort(result);
    }

    private static bool OneLine(TextBox a, TextBox b)
    {
        var (ra, rb) = (Bounds(a), Bounds(b));
        if (Inside(ra, rb) || Inside(rb, ra))
        {
            return true;
        }

        if (!Horizontal(a) || !Horizontal(b))
        {
            return false;
        }

        float ha = ra.Bottom - ra.Top, hb = rb.Bottom - rb.Top;
        var lower = MathF.Min(ha, hb);
        if (lower <= 0 || MathF.Max(ha, hb) > MaxHeightRatio * lower)
        {
            return false;
        }

        var overlap = MathF.Min(ra.Bottom, rb.Bottom) - MathF.Max(ra.Top, rb.Top);
        var gap = MathF.Max(ra.Left, rb.Left) - MathF.Min(ra.Right, rb.Right);
        return overlap >= MinVerticalOverlap * lower && gap <= MaxGap * lower;
    }

    // A speck the detector found inside a line's box (a bracket, a dot) is part of that line.
    private static bool Inside((float Left, float Top, float Right, float Bottom) inner, (float Left, float Top, float Right, float Bottom) outer) =>
        inner.Left >= outer.Left && inner.Right <= outer.Right && inner.Top >= outer.Top && inner.Bottom <= outer.Bottom;

    private static bool Horizontal(TextBox box)
    {
        var top = box.TopRight - box.TopLeft;
        return box.Width >= box.Height && MathF.Atan2(MathF.Abs(top.Y), MathF.Abs(top.X)) <= MaxTiltDegrees * MathF.PI / 180;
    }

    private static (float Left, float Top, float Right, float Bottom) Bounds(TextBox box)
    {
        var points = box.Points;
        return (points.Min(p => p.X), points.Min(p => p.Y), points.Max(p => p.X), points.Max(p => p.Y));
    }

    private static TextBox Union(TextBox a, TextBox b)
    {
        var (ra, rb) = (Bounds(a), Bounds(b));
        float left = MathF.Min(ra.Left, rb.Left), top = MathF.Min(ra.Top, rb.Top);
        float right = MathF.Max(ra.Right, rb.Right), bottom = MathF.Max(ra.Bottom, rb.Bottom);
        return new TextBox(new Point2(left, top), new Point2(right, top), new Point2(right, bottom), new Point2(left, bottom), MathF.Min(a.Score, b.Score));
    }
}
