namespace Engine.Postprocessing;

/// <summary>Orders text boxes as a reader would, like PaddleOCR's sorted_boxes.</summary>
public static class ReadingOrder
{
    /// <summary>
    /// Top to bottom by top-left corner, then left to right among boxes on the same line: two neighbours whose tops
    /// differ by less than half the lower of their heights count as one line (PaddleOCR uses a fixed 10 px).
    /// </summary>
    public static IReadOnlyList<TextBox> Sort(IEnumerable<TextBox> boxes)
    {
        var sorted = boxes.OrderBy(b => b.TopLeft.Y).ThenBy(b => b.TopLeft.X).ToList();
        for (var i = 0; i < sorted.Count - 1; i++)
        {
            for (var j = i; j >= 0; j--)
            {
                var (upper, lower) = (sorted[j], sorted[j + 1]);
                var sameLine = MathF.Abs(lower.TopLeft.Y - upper.TopLeft.Y) < MathF.Min(upper.Height, lower.Height) / 2;
                if (!sameLine || lower.TopLeft.X >= upper.TopLeft.X)
                {
                    break;
                }

                (sorted[j], sorted[j + 1]) = (lower, upper);
            }
        }

        return sorted;
    }
}
