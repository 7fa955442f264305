using Engine.Imaging;

namespace Engine.Tests.Imaging;

public sealed class ImageOpsTests
{
    private static RgbImage Picture() => TestImages.Decode("picture.png");

    private static RgbImage Gray(int width, int height, params byte[] values)
    {
        var rgb = new byte[values.Length * 3];
        for (var i = 0; i < values.Length; i++)
        {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = values[i];
        }

        return new RgbImage(width, height, rgb);
    }

    private static byte[] RedChannel(RgbImage image) => [.. image.Pixels.Where((_, i) => i % 3 == 0)];

    [Fact]
    public void Bilinear_upscale_of_a_gradient_interpolates_between_pixel_centres()
    {
        var gradient = Gray(4, 1, 0, 64, 128, 192);

        var resized = ImageOps.Resize(gradient, 8, 1, ResizeMethod.Bilinear);

        // Half-pixel centres, edges clamped (what OpenCV's INTER_LINEAR gives).
        Assert.Equal([0, 16, 48, 80, 112, 144, 176, 192], RedChannel(resized));
    }

    [Fact]
    public void Area_downscale_averages_each_block_exactly()
    {
        var image = Gray(4, 4,
            10, 20, 100, 100,
            30, 40, 100, 104,
            0, 0, 255, 255,
            0, 4, 255, 255);

        var resized = ImageOps.Resize(image, 2, 2, ResizeMethod.Area);

        Assert.Equal([25, 101, 1, 255], RedChannel(resized));
    }

    [Fact]
    public void Area_downscale_by_a_fractional_factor_weights_pixels_by_coverage()
    {
        var image = Gray(3, 1, 0, 90, 180);

        var resized = ImageOps.Resize(image, 2, 1, ResizeMethod.Area);

        // Output 0 covers source [0,1.5): (0 + 0.5*90)/1.5 = 30; output 1 covers [1.5,3): (0.5*90 + 180)/1.5 = 150.
        Assert.Equal([30, 150], RedChannel(resized));
    }

    [Fact]
    public void Auto_uses_area_when_shrinking_by_more_than_two_and_bilinear_otherwise()
    {
        var picture = Picture();

        Assert.Equal(ImageOps.Resize(picture, 16, 12, ResizeMethod.Area).Pixels, ImageOps.Resize(picture, 16, 12).Pixels);
        Assert.Equal(ImageOps.Resize(picture, 40, 30, ResizeMethod.Bilinear).Pixels, ImageOps.Resize(picture, 40, 30).Pixels);
        Assert.NotEqual(ImageOps.Resize(picture, 16, 12, ResizeMethod.Bilinear).Pixels, ImageOps.Resize(picture, 16, 12).Pixels);
    }

    [Fact]
    public void Crop_copies_the_requested_rectangle()
    {
        var picture = Picture();

        var crop = ImageOps.Crop(picture, 10, 5, 20, 7);

        Assert.Equal((20, 7), (crop.Width, crop.Height));
        Assert.Equal(picture.GetPixel(10, 5), crop.GetPixel(0, 0));
        Assert.Equal(picture.GetPixel(29, 11), crop.GetPixel(19, 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageOps.Crop(picture, 50, 0, 20, 7));
    }

    [Fact]
    public void Rotate180_twice_is_identity_and_once_moves_corners()
    {
        var picture = Picture();

        var once = ImageOps.Rotate180(picture);

        Assert.Equal(picture.GetPixel(0, 0), once.GetPixel(63, 47));
        Assert.NotEqual(picture.Pixels, once.Pixels);
        Assert.Equal(picture.Pixels, ImageOps.Rotate180(once).Pixels);
    }

    [Fact]
    public void Quarter_turns_move_pixels_to_the_right_place_and_undo_each_other()
    {
        var picture = Picture();

        var clockwise = ImageOps.Rotate90Clockwise(picture);
        var counter = ImageOps.Rotate90CounterClockwise(picture);

        Assert.Equal((48, 64), (clockwise.Width, clockwise.Height));
        Assert.Equal(picture.GetPixel(0, 0), clockwise.GetPixel(47, 0)); // top-left goes to top-right
        Assert.Equal(picture.GetPixel(0, 0), counter.GetPixel(0, 63)); // top-left goes to bottom-left
        Assert.Equal(picture.Pixels, ImageOps.Rotate90CounterClockwise(clockwise).Pixels);
        Assert.Equal(ImageOps.Rotate180(picture).Pixels, ImageOps.Rotate90Clockwise(clockwise).Pixels);
    }

    [Fact]
    public void Flips_and_transposes_compose_as_expected()
    {
        var picture = Picture();

        Assert.Equal(ImageOps.Rotate180(picture).Pixels, ImageOps.FlipVertical(ImageOps.FlipHorizontal(picture)).Pixels);
        Assert.Equal(ImageOps.FlipHorizontal(ImageOps.Rotate90Clockwise(picture)).Pixels, ImageOps.Transpose(picture).Pixels);
        Assert.Equal(ImageOps.FlipHorizontal(ImageOps.Rotate90CounterClockwise(picture)).Pixels, ImageOps.Transverse(picture).Pixels);
    }

    [Fact]
    public void WarpQuad_of_an_axis_aligned_quad_equals_crop()
    {
        var picture = Picture();
        PointF[] quad = [new(7, 3), new(37, 3), new(37, 23), new(7, 23)];

        var (width, height) = ImageOps.QuadCropSize(quad);
        var warped = ImageOps.WarpQuad(picture, quad, width, height);

        Assert.Equal((30, 20), (width, height));
        Assert.Equal(ImageOps.Crop(picture, 7, 3, 30, 20).Pixels, warped.Pixels);
    }

    [Fact]
    public void WarpQuad_follows_the_point_order_so_a_turned_quad_gives_a_turned_image()
    {
        var picture = Picture();
        // Top-left of the output is the picture's top-right corner; the output's x runs down the picture.
        PointF[] quad = [new(63, 0), new(63, 48), new(-1, 48), new(-1, 0)];

        var warped = ImageOps.WarpQuad(picture, quad, 48, 64);

        Assert.Equal(ImageOps.Rotate90CounterClockwise(picture).Pixels, warped.Pixels);
    }

    [Fact]
    public void QuadCropSize_takes_the_longer_opposite_edges()
    {
        // A box rotated 30°: edges 40 and 10 long.
        var (cos, sin) = (MathF.Cos(MathF.PI / 6), MathF.Sin(MathF.PI / 6));
        PointF[] quad =
        [
            new(20, 10), new(20 + 40 * cos, 10 + 40 * sin),
            new(20 + 40 * cos - 10 * sin, 10 + 40 * sin + 10 * cos), new(20 - 10 * sin, 10 + 10 * cos),
        ];

        var (width, height) = ImageOps.QuadCropSize(quad);

        Assert.InRange(width, 39, 40);
        Assert.InRange(height, 9, 10);
    }

    [Fact]
    public void WidenQuad_pushes_every_side_of_a_turned_box_out_by_the_distance()
    {
        // The 40×10 box turned 30°, widened by 3: 46×16 with the same centre.
        var (cos, sin) = (MathF.Cos(MathF.PI / 6), MathF.Sin(MathF.PI / 6));
        PointF[] quad =
        [
            new(20, 10), new(20 + 40 * cos, 10 + 40 * sin),
            new(20 + 40 * cos - 10 * sin, 10 + 40 * sin + 10 * cos), new(20 - 10 * sin, 10 + 10 * cos),
        ];

        var widened = ImageOps.WidenQuad(quad, 3);

        static float Length(PointF a, PointF b) => MathF.Sqrt(((a.X - b.X) * (a.X - b.X)) + ((a.Y - b.Y) * (a.Y - b.Y)));
        Assert.Equal(46, Length(widened[0], widened[1]), 3);
        Assert.Equal(16, Length(widened[0], widened[3]), 3);
        Assert.Equal((quad[0].X + quad[2].X) / 2, (widened[0].X + widened[2].X) / 2, 3);
        Assert.Equal((quad[0].Y + quad[2].Y) / 2, (widened[0].Y + widened[2].Y) / 2, 3);
    }

    [Fact]
    public void WidenQuad_can_push_the_ends_further_than_the_top_and_bottom()
    {
        PointF[] quad = [new(10, 20), new(50, 20), new(50, 30), new(10, 30)];

        var widened = ImageOps.WidenQuad(quad, 8, 2);

        Assert.Equal([new PointF(2, 18), new PointF(58, 18), new PointF(58, 32), new PointF(2, 32)], widened);
    }

    [Fact]
    public void PadWithBackground_surrounds_a_crop_with_its_edge_colour_not_its_ink()
    {
        // A light crop (200, 210, 220) with a dark stroke touching its left edge: the border's median is the paper.
        var crop = new RgbImage(6, 4, [.. Enumerable.Range(0, 24).SelectMany(i => i % 6 == 0 ? new byte[] { 10, 10, 10 } : new byte[] { 200, 210, 220 })]);

        var padded = ImageOps.PadWithBackground(crop, 3, 1);

        Assert.Equal((12, 6), (padded.Width, padded.Height));
        Assert.Equal(((byte)200, (byte)210, (byte)220), padded.GetPixel(0, 0));
        Assert.Equal(((byte)200, (byte)210, (byte)220), padded.GetPixel(11, 5));
        Assert.Equal(((byte)10, (byte)10, (byte)10), padded.GetPixel(3, 1));
        Assert.Equal(crop.GetPixel(5, 3), padded.GetPixel(8, 4));
    }

    [Fact]
    public void CropTextBox_turns_tall_boxes_on_their_side_like_paddleocr()
    {
        var picture = Picture();
        PointF[] tall = [new(10, 4), new(20, 4), new(20, 44), new(10, 44)];

        var crop = ImageOps.CropTextBox(picture, tall);

        Assert.Equal((40, 10), (crop.Width, crop.Height));
        Assert.Equal(ImageOps.Rotate90CounterClockwise(ImageOps.Crop(picture, 10, 4, 10, 40)).Pixels, crop.Pixels);
    }
}
