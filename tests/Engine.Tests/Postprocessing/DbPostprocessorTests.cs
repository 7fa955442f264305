using Engine.Postprocessing;

namespace Engine.Tests.Postprocessing;

public sealed class DbPostprocessorTests
{
    private const int Width = 300;
    private const int Height = 200;

    private static void FillRect(float[] map, int width, int x0, int y0, int x1, int y1, float value)
    {
        for (var y = y0; y <= y1; y++)
        {
            for (var x = x0; x <= x1; x++)
            {
                map[(y * width) + x] = value;
            }
        }
    }

    /// <summary>Corners (TL, TR, BR, BL) of a w×h rectangle centred at c whose width axis is rotated by degrees (y down).</summary>
    private static Point2[] Corners(Point2 c, float w, float h, float degrees)
    {
        var radians = degrees * MathF.PI / 180;
        var u = new Point2(MathF.Cos(radians), MathF.Sin(radians)) * (w / 2);
        var v = new Point2(-MathF.Sin(radians), MathF.Cos(radians)) * (h / 2);
        return [c - u - v, c + u - v, c + u + v, c - u + v];
    }

    private static void FillRotated(float[] map, Point2 c, float w, float h, float degrees, float value)
    {
        var radians = degrees * MathF.PI / 180;
        var u = new Point2(MathF.Cos(radians), MathF.Sin(radians));
        for (var y = 0; y < Height; y++)
        {
            for (var x = 0; x < Width; x++)
            {
                var d = new Point2(x, y) - c;
                var along = (d.X * u.X) + (d.Y * u.Y);
                var across = (-d.X * u.Y) + (d.Y * u.X);
                if (MathF.Abs(along) <= w / 2 && MathF.Abs(across) <= h / 2)
                {
                    map[(y * Width) + x] = value;
                }
            }
        }
    }

    /// <summary>DB's unclip distance for a w×h kernel: area × ratio / perimeter.</summary>
    private static float Unclip(float w, float h) => w * h * 1.5f / (2 * (w + h));

    private static void AssertCorners(Point2[] expected, TextBox actual, float tolerance)
    {
        for (var i = 0; i < 4; i++)
        {
            var distance = (actual.Points[i] - expected[i]).Length;
            Assert.True(distance <= tolerance, $"corner {i}: expected {expected[i]}, got {actual.Points[i]} ({distance:F2} px off)");
        }
    }

    [Fact]
    public void Finds_an_axis_aligned_and_a_rotated_line_and_drops_a_faint_blob_and_a_speck()
    {
        var map = new float[Width * Height];
        FillRect(map, Width, 20, 30, 119, 59, 0.9f);                 // axis-aligned line, 100×30 px
        FillRotated(map, new Point2(200, 140), 120, 24, 15, 0.9f);   // a line tilted 15°
        FillRect(map, Width, 30, 120, 49, 139, 0.4f);                // above thresh 0.3, below boxThresh 0.6
        FillRect(map, Width, 60, 170, 61, 171, 0.95f);               // 2×2 speck, below minSize 3

        var boxes = DbPostprocessor.ExtractBoxes(map, Height, Width, new DbOptions(), 1f, 1f, Width, Height);

        Assert.Equal(2, boxes.Count);
        var straight = boxes.Single(b => b.TopLeft.X < 60);
        var tilted = boxes.Single(b => b.TopLeft.X >= 60);

        // The kernel is the rectangle through the outer pixel centres (99×29), grown by the unclip distance.
        var d = Unclip(99, 29);
        AssertCorners([new(20 - d, 30 - d), new(119 + d, 30 - d), new(119 + d, 59 + d), new(20 - d, 59 + d)], straight, 1f);
        Assert.Equal(0.9f, straight.Score, 5);

        var dt = Unclip(119, 23);
        AssertCorners(Corners(new Point2(200, 140), 119 + (2 * dt), 23 + (2 * dt), 15), tilted, 2f);
        Assert.InRange(tilted.Score, 0.8f, 0.9f);
    }

    [Fact]
    public void Boxes_are_scaled_to_the_original_image_and_clipped_to_it()
    {
        const int width = 60, height = 50;
        var map = new float[width * height];
        FillRect(map, width, 2, 2, 41, 21, 0.8f);

        var box = Assert.Single(DbPostprocessor.ExtractBoxes(map, height, width, new DbOptions(), 2f, 2f, 120, 100));

        var d = Unclip(39, 19);
        var right = MathF.Round((41 + d) * 2);
        var bottom = MathF.Round((21 + d) * 2);
        Assert.Equal([new(0, 0), new(right, 0), new(right, bottom), new(0, bottom)], box.Points);
    }

    [Fact]
    public void Max_candidates_bounds_the_regions_considered()
    {
        var map = new float[Width * Height];
        FillRect(map, Width, 10, 10, 60, 30, 0.9f);
        FillRect(map, Width, 10, 100, 60, 120, 0.9f);

        var boxes = DbPostprocessor.ExtractBoxes(map, Height, Width, new DbOptions { MaxCandidates = 1 }, 1f, 1f, Width, Height);

        Assert.True(Assert.Single(boxes).TopLeft.Y < 30);
    }

    [Fact]
    public void An_empty_map_has_no_boxes()
    {
        var boxes = DbPostprocessor.ExtractBoxes(new float[Width * Height], Height, Width, new DbOptions(), 1f, 1f, Width, Height);

        Assert.Empty(boxes);
    }
}
