// The manifest's resize rules that the OCR models depend on: PaddleOCR's detection size with a minimum side, and
// a classifier's windows over a line too long for its input.
using Contracts.Models;
using Engine.Imaging;
using Engine.Inference;

namespace Engine.Tests.Inference;

public sealed class ImagePreprocessorTests
{
    private static RgbImage Blank(int width, int height) => new(width, height, new byte[width * height * 3]);

    [Theory]
    [InlineData(800, 196, 800, 192)] // within limits: rounded to multiples of 32 only
    [InlineData(435, 50, 544, 64)] // one text line: enlarged so the short side reaches 64
    [InlineData(1920, 1080, 960, 544)] // a photo: shrunk so the long side is 960
    [InlineData(5000, 40, 960, 32)] // a long strip: never past 960, even if the short side stays below 64
    public void Detection_size_shrinks_to_max_side_and_enlarges_thin_images_to_min_side(int width, int height, int expectedWidth, int expectedHeight)
    {
        var resize = new ResizeSpec { Mode = ResizeModes.MaxSide, MaxSide = 960, MinSide = 64, Multiple = 32 };

        Assert.Equal((expectedWidth, expectedHeight), ImagePreprocessor.MaxSideSize(Blank(width, height), resize));
    }

    [Fact]
    public void A_line_too_long_for_a_windows_classifier_fills_several_rows_of_the_batch()
    {
        var spec = new InputSpec
        {
            Resize = new ResizeSpec { Mode = ResizeModes.FixedHeight, Height = 48, MinWidth = 192, MaxWidth = 192, Overflow = ResizeOverflows.Windows },
        };

        // 626×54 is 557 px wide at height 48: three 192 px windows; the short line is one padded window.
        using var batch = new ImagePreprocessor(spec).Prepare([Blank(626, 54), Blank(100, 48)]);

        Assert.Equal([4L, 3, 48, 192], batch.Shape);
        Assert.Equal([0, 0, 0, 1], batch.Owners!);
    }
}
