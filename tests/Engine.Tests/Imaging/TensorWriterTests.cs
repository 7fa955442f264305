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
