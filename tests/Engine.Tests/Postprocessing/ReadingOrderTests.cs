using Engine.Postprocessing;

namespace Engine.Tests.Postprocessing;

public sealed class ReadingOrderTests
{
    private static TextBox Box(float x, float y, float w = 80, float h = 20)
        => new(new Point2(x, y), new Point2(x + w, y), new Point2(x + w, y + h), new Point2(x, y + h), 0.9f);

    [Fact]
    public void Lines_read_top_to_bottom_and_boxes_on_a_line_left_to_right()
    {
        // Three lines; the tops within a line differ by a few pixels, as real detections do.
        TextBox[] expected = [Box(10, 10), Box(200, 12), Box(400, 8), Box(20, 49), Box(300, 52), Box(5, 90)];
        var shuffled = expected.ToArray();
        new Random(42).Shuffle(shuffled);

        var sorted = ReadingOrder.Sort(shuffled);

        Assert.Equal(expected, sorted);
    }

    [Fact]
    public void A_box_half_a_line_lower_starts_a_new_line()
    {
        var left = Box(300, 0);
        var lowerRight = Box(10, 12);

        Assert.Equal([left, lowerRight], ReadingOrder.Sort([lowerRight, left]));
    }
}
