using Engine.Postprocessing;

namespace Engine.Tests.Postprocessing;

public sealed class SplitLineMergerTests
{
    private static TextBox Quad(float x0, float y0, float x1, float y1, float x2, float y2, float x3, float y3, float score = 0.8f)
        => new(new Point2(x0, y0), new Point2(x1, y1), new Point2(x2, y2), new Point2(x3, y3), score);

    private static TextBox Box(float x, float y, float w, float h) => Quad(x, y, x + w, y, x + w, y + h, x, y + h);

    [Fact]
    public void The_two_pieces_of_a_split_line_become_one_box_around_both()
    {
        // ocr-det's boxes on upside-down-2.png (837×65): one line cut in two, the smaller piece tilted 3°.
        var rest = Quad(12, 9, 670, 8, 670, 58, 12, 59, 0.70f);
        var piece = Quad(643, 3, 829, 12, 827, 55, 641, 46, 0.78f);

        var merged = Assert.Single(SplitLineMerger.Merge([rest, piece]));

        Assert.Equal([new Point2(12, 3), new Point2(829, 3), new Point2(829, 59), new Point2(12, 59)], merged.Points);
        Assert.Equal(0.70f, merged.Score);
    }

    [Fact]
    public void A_speck_inside_a_line_box_joins_it()
    {
        var line = Box(15, 10, 600, 35);
        var speck = Box(267, 20, 10, 9);

        Assert.Equal([line.Points], SplitLineMerger.Merge([line, speck]).Select(b => b.Points));
    }

    [Fact]
    public void Lines_of_a_page_and_columns_apart_stay_separate()
    {
        TextBox[] boxes = [Box(40, 40, 500, 40), Box(40, 100, 480, 40), Box(600, 40, 150, 40), Box(40, 160, 300, 60)];

        var result = SplitLineMerger.Merge(boxes);

        Assert.Same(boxes, result);
    }

    [Fact]
    public void Pieces_a_word_gap_apart_on_one_line_are_joined_in_reading_order()
    {
        var result = SplitLineMerger.Merge([Box(300, 52, 200, 30), Box(40, 50, 250, 32), Box(40, 120, 400, 30)]);

        Assert.Equal([[new(40, 50), new(500, 50), new(500, 82), new(40, 82)], Box(40, 120, 400, 30).Points], result.Select(b => b.Points));
    }
}
