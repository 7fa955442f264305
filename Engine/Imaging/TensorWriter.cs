using System.Numerics.Tensors;

namespace Engine.Imaging;

public enum ColorOrder
{
    Rgb,
    Bgr,
}

/// <summary>Writes an <see cref="RgbImage"/> as planar, channel-first (CHW) normalized floats: (pixel × scale − mean[c]) / std[c].</summary>
public static class TensorWriter
{
    /// <summary>Writes 3 × H × W floats; <paramref name="mean"/> and <paramref name="std"/> are in the output channel order.</summary>
    public static void WriteChw(RgbImage image, Span<float> destination, ColorOrder order,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> std, float scale = 1 / 255f) =>
        WriteChw(image, destination, image?.Width ?? 0, order, mean, std, scale, 0f);

    /// <summary>
    /// Writes 3 × H × <paramref name="destinationWidth"/> floats: each row holds the image's normalized pixels followed by
    /// <paramref name="padValue"/> up to the destination width (PaddleOCR pads recognition batches with 0 after normalizing).
    /// </summary>
    public static void WriteChw(RgbImage image, Span<float> destination, int destinationWidth, ColorOrder order,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> std, float scale, float padValue) =>
        WriteChw(image, 0, image?.Width ?? 0, destination, destinationWidth, order, mean, std, scale, padValue);

    /// <summary>
    /// As above for the columns <paramref name="sourceX"/> … <paramref name="sourceX"/> + <paramref name="sourceWidth"/> of
    /// the image only: a window of a long line written straight into the batch, without cropping a copy first.
    /// </summary>
    public static void WriteChw(RgbImage image, int sourceX, int sourceWidth, Span<float> destination, int destinationWidth, ColorOrder order,
        ReadOnlySpan<float> mean, ReadOnlySpan<float> std, float scale, float padValue)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (sourceX < 0 || sourceWidth < 0 || sourceX + sourceWidth > image.Width)
        {
            throw new ArgumentOutOfRangeException(nameof(sourceWidth), $"Columns {sourceX}…{sourceX + sourceWidth} are not inside the {image.Width} px wide image.");
        }
        if (mean.Length != 3 || std.Length != 3)
        {
            throw new ArgumentException("mean and std need one value per channel (3).");
        }

        if (destinationWidth < sourceWidth)
        {
            throw new ArgumentOutOfRangeException(nameof(destinationWidth), $"Destination width {destinationWidth} is narrower than the image ({sourceWidth}).");
        }

        int width = sourceWidth, height = image.Height;
        var plane = height * destinationWidth;
        if (destination.Length < 3 * plane)
        {
            throw new ArgumentException($"Destination holds {destination.Length} floats; 3×{height}×{destinationWidth} = {3 * plane} are needed.", nameof(destination));
        }

        // Output plane p takes source channel p (RGB) or 2 - p (BGR).
        var redPlane = order == ColorOrder.Rgb ? 0 : 2;
        Deinterleave(image.Pixels, image.Width, sourceX, width, height, destinationWidth,
            destination.Slice(redPlane * plane, plane),
            destination.Slice(plane, plane),
            destination.Slice((2 - redPlane) * plane, plane));

        for (var c = 0; c < 3; c++)
        {
            var channel = destination.Slice(c * plane, plane);
            for (var y = 0; y < height; y++)
            {
                var row = channel.Slice(y * destinationWidth, width);
                TensorPrimitives.Multiply(row, scale, row);
                TensorPrimitives.Subtract(row, mean[c], row);
                TensorPrimitives.Divide(row, std[c], row);
                channel.Slice(y * destinationWidth + width, destinationWidth - width).Fill(padValue);
            }
        }
    }

    private static void Deinterleave(ReadOnlySpan<byte> rgb, int imageWidth, int sourceX, int width, int height, int destinationWidth,
        Span<float> red, Span<float> green, Span<float> blue)
    {
        for (var y = 0; y < height; y++)
        {
            var src = rgb.Slice((y * imageWidth + sourceX) * 3, width * 3);
            var r = red.Slice(y * destinationWidth, width);
            var g = green.Slice(y * destinationWidth, width);
            var b = blue.Slice(y * destinationWidth, width);
            for (int x = 0, i = 0; x < r.Length && i + 2 < src.Length; x++, i += 3)
            {
                r[x] = src[i];
                g[x] = src[i + 1];
                b[x] = src[i + 2];
            }
        }
    }
}
