// Text boxes from a DB (Differentiable Binarization) probability map, following PaddleOCR's DBPostProcess with
// score mode "fast": binarize, take each text region, fit a minimum-area rectangle, score it, grow it (unclip).
namespace Engine.Postprocessing;

public static class DbPostprocessor
{
    /// <param name="probMap">[height, width] row-major text probabilities.</param>
    /// <param name="scaleX">Factor from probability-map x to original-image x (originalWidth / resized width).</param>
    /// <param name="scaleY">Factor from probability-map y to original-image y.</param>
    /// <returns>Boxes in original-image pixels, corners clockwise from the top-left, in no particular order.</returns>
    public static IReadOnlyList<TextBox> ExtractBoxes(
        ReadOnlySpan<float> probMap, int height, int width, DbOptions options,
        float scaleX, float scaleY, int originalWidth, int originalHeight)
    {
        if (probMap.Length != height * width)
        {
            throw new ArgumentException($"expected {height}×{width} = {height * width} values, got {probMap.Length}", nameof(probMap));
        }

        var boxes = new List<TextBox>();
        var regions = 0;
        foreach (var hullPoints in TextRegions(probMap, height, width, options.Thresh))
        {
            if (regions++ >= options.MaxCandidates)
            {
                break;
            }

            var rect = RotatedRect.MinAreaOf(ConvexHull.Of(hullPoints));
            if (rect.ShortSide < options.MinSize || rect.ShortSide <= 0)
            {
                continue;
            }

            var score = MeanInside(probMap, height, width, rect.OrderedCorners());
            if (score < options.BoxThresh)
            {
                continue;
            }

            // pyclipper's offset of a rectangle by d (round joins) has as minimum-area rectangle the rectangle
            // grown by d on every side, so the rectangle is grown directly.
            var distance = rect.Width * rect.Height * options.UnclipRatio / (2 * (rect.Width + rect.Height));
            var grown = rect.Grow(distance);
            if (grown.ShortSide < options.MinSize + 2)
            {
                continue;
            }

            var (tl, tr, br, bl) = grown.OrderedCorners();
            var box = new TextBox(
                ToOriginal(tl, scaleX, scaleY, originalWidth, originalHeight),
                ToOriginal(tr, scaleX, scaleY, originalWidth, originalHeight),
                ToOriginal(br, scaleX, scaleY, originalWidth, originalHeight),
                ToOriginal(bl, scaleX, scaleY, originalWidth, originalHeight),
                score);

            // As PaddleOCR's filter_tag_det_res: a box squeezed to 3 px or less by clipping is noise.
            if (box.Width > 3 && box.Height > 3)
            {
                boxes.Add(box);
            }
        }

        return boxes;
    }

    private static Point2 ToOriginal(Point2 p, float scaleX, float scaleY, int originalWidth, int originalHeight) => new(
        Math.Clamp(MathF.Round(p.X * scaleX), 0, originalWidth - 1),
        Math.Clamp(MathF.Round(p.Y * scaleY), 0, originalHeight - 1));

    /// <summary>
    /// 8-connected regions of pixels above <paramref name="thresh"/>, in raster order of their first pixel; each given as
    /// the centres of its leftmost and rightmost pixel per row, which have the same convex hull as the region's contour.
    /// </summary>
    private static List<List<Point2>> TextRegions(ReadOnlySpan<float> probMap, int height, int width, float thresh)
    {
        var visited = new bool[probMap.Length];
        var rowMin = new int[height];
        var rowMax = new int[height];
        Array.Fill(rowMin, int.MaxValue);
        Array.Fill(rowMax, int.MinValue);
        var stack = new Stack<int>();
        var regions = new List<List<Point2>>();

        for (var start = 0; start < probMap.Length; start++)
        {
            if (visited[start] || !(probMap[start] > thresh))
            {
                continue;
            }

            int top = start / width, bottom = top;
            visited[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                var index = stack.Pop();
                int y = index / width, x = index % width;
                rowMin[y] = Math.Min(rowMin[y], x);
                rowMax[y] = Math.Max(rowMax[y], x);
                bottom = Math.Max(bottom, y);
                for (var ny = Math.Max(y - 1, 0); ny <= Math.Min(y + 1, height - 1); ny++)
                {
                    for (var nx = Math.Max(x - 1, 0); nx <= Math.Min(x + 1, width - 1); nx++)
                    {
                        var neighbour = (ny * width) + nx;
                        if (!visited[neighbour] && probMap[neighbour] > thresh)
                        {
                            visited[neighbour] = true;
                            stack.Push(neighbour);
                        }
                    }
                }
            }

            var points = new List<Point2>();
            for (var y = top; y <= bottom; y++)
            {
                if (rowMin[y] <= rowMax[y])
                {
                    points.Add(new Point2(rowMin[y], y));
                    points.Add(new Point2(rowMax[y], y));
                }

                rowMin[y] = int.MaxValue;
                rowMax[y] = int.MinValue;
            }

            regions.Add(points);
        }

        return regions;
    }

    /// <summary>Mean probability over the pixels whose centres lie inside the quadrilateral (PaddleOCR's box_score_fast).</summary>
    private static float MeanInside(ReadOnlySpan<float> probMap, int height, int width, (Point2, Point2, Point2, Point2) corners)
    {
        Point2[] quad = [corners.Item1, corners.Item2, corners.Item3, corners.Item4];
        var xMin = Math.Clamp((int)MathF.Floor(quad.Min(p => p.X)), 0, width - 1);
        var xMax = Math.Clamp((int)MathF.Ceiling(quad.Max(p => p.X)), 0, width - 1);
        var yMin = Math.Clamp((int)MathF.Floor(quad.Min(p => p.Y)), 0, height - 1);
        var yMax = Math.Clamp((int)MathF.Ceiling(quad.Max(p => p.Y)), 0, height - 1);

        double sum = 0;
        var count = 0;
        for (var y = yMin; y <= yMax; y++)
        {
            for (var x = xMin; x <= xMax; x++)
            {
                if (Inside(quad, new Point2(x, y)))
                {
                    sum += probMap[(y * width) + x];
                    count++;
                }
            }
        }

        return count == 0 ? 0f : (float)(sum / count);
    }

    /// <summary>Inside or on the edge (within a small tolerance) of a convex quadrilateral of either winding.</summary>
    private static bool Inside(Point2[] quad, Point2 p)
    {
        const float tolerance = 1e-3f;
        bool anyPositive = false, anyNegative = false;
        for (var i = 0; i < 4; i++)
        {
            var a = quad[i];
            var b = quad[(i + 1) % 4];
            var edge = b - a;
            var length = edge.Length;
            if (length < 1e-6f)
            {
                continue;
            }

            var distance = (((p.X - a.X) * edge.Y) - ((p.Y - a.Y) * edge.X)) / length;
            anyPositive |= distance > tolerance;
            anyNegative |= distance < -tolerance;
        }

        return !(anyPositive && anyNegative);
    }
}
