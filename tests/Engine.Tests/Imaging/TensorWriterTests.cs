using Engine.Imaging;

namespace Engine.Tests.Imaging;

public sealed class TensorWriterTests
{
    // 2×1 image: pixel 0 = (10, 20, 30), pixel 1 = (200, 100, 0).
    private static readonly RgbImage Tiny = new(2, 1, [10, 20, 30, 200, 100, 0]);
    private static readonly float[] Mean = [0.5f, 0.25f, 0.125f];
    private static readonly float[] Std = [0.5f, 0.2f, 0.1f];

    private static float Normalize(byte pixel, int channel) => (pixel * (1 / 255f) - Mean[channel]) / Std[channel];

    [Fact]
    public void Rgb_order_writes_red_green_blue_planes_with_per_channel_normalization()
    {
        var tensor = new float[6];

        TensorWriter.WriteChw(Tiny, tensor, ColorOrder.Rgb, Mean, Std);

        Assert.Equal(
            [Normalize(10, 0), Normalize(200, 0), Normalize(20, 1), Normalize(100, 1), Normalize(30, 2), Normalize(0, 2)],
            tensor);
        Assert.Equal(-0.921569f, tensor[0], 5); // (10/255 - 0.5) / 0.5
    }

    [Fact]
    public void Bgr_order_writes_blue_first_and_applies_mean_and_std_in_output_order()
    {
        var tensor = new float[6];

        TensorWriter.WriteChw(Tiny, tensor, ColorOrder.Bgr, Mean, Std);

        Assert.Equal(
            [Normalize(30, 0), Normalize(0, 0), Normalize(20, 1), Normalize(100, 1), Normalize(10, 2), Normalize(200, 2)],
            tensor);
    }

    [Fact]
    public void A_column_window_is_written_as_its_cropped_copy_would_be_and_padded()
    {
        // 4×2 image, every pixel distinct; window = columns 1..2 into a destination 3 wide.
        var pixels = Enumerable.Range(0, 4 * 2 * 3).Select(i => (byte)(i * 9)).ToArray();
        var image = new RgbImage(4, 2, pixels);
        var fromWindow = new float[3 * 2 * 3];
        var fromCrop = new float[3 * 2 * 3];

        TensorWriter.WriteChw(image, 1, 2, fromWindow, 3, ColorOrder.Bgr, Mean, Std, 1 / 255f, padValue: -7f);
        TensorWriter.WriteChw(ImageOps.Crop(image, 1, 0, 2, 2), fromCrop, 3, ColorOrder.Bgr, Mean, Std, 1 / 255f, padValue: -7f);

        Assert.Equal(fromCrop, fromWindow);
        Assert.Equal(-7f, fromWindow[2]); // row 0 of the first plane: 2 pixels, then the pad
        Assert.Equal(Normalize(pixels[(0 * 4 + 1) * 3 + 2], 0), fromWindow[0]); // BGR: plane 0 is blue of pixel (1, 0)
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorWriter.WriteChw(image, 3, 2, fromWindow, 3, ColorOrder.Rgb, Mean, Std, 1 / 255f, 0));
    }

    [Fact]
    public void Padded_overload_fills_the_right_of_each_row_with_the_pad_value()
    {
        var image = new RgbImage(1, 2, [255, 0, 0, 0, 0, 255]);
        var tensor = new float[3 * 2 * 3];
        Array.Fill(tensor, float.NaN);
        float[] half = [0.5f, 0.5f, 0.5f];

        TensorWriter.WriteChw(image, tensor, destinationWidth: 3, ColorOrder.Bgr, half, half, 1 / 255f, padValue: 0f);

        Assert.Equal(
        [
            -1, 0, 0, /* B row 0 */ 1, 0, 0, /* B row 1 */
            -1, 0, 0, -1, 0, 0, /* G */
            1, 0, 0, -1, 0, 0, /* R */
        ], tensor);
    }

    [Fact]
    public void Too_small_destination_is_refused()
    {
        Assert.Throws<ArgumentException>(() => TensorWriter.WriteChw(Tiny, new float[5], ColorOrder.Rgb, Mean, Std));
    }
}
