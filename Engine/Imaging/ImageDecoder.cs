using System.Buffers.Binary;

namespace Engine.Imaging;

/// <summary>
/// Decodes JPEG, PNG and WebP bytes to <see cref="RgbImage"/> (through SkiaSharp: <see cref="SkiaImageCodec"/>). The format
/// comes from magic bytes; limits are enforced from the header before pixel memory is allocated; every failure is an
/// <see cref="ImageDecodeException"/>.
/// </summary>
public static class ImageDecoder
{
    public static RgbImage Decode(ReadOnlySpan<byte> data) => Decode(data, DecodeOptions.Default);

    public static RgbImage Decode(ReadOnlySpan<byte> data, DecodeOptions options)
    {
        var format = CheckAndSniff(data, options);
        return format switch
        {
            ImageFormat.Jpeg or ImageFormat.Png or ImageFormat.WebP => SkiaImageCodec.Decode(data, format, options),
            ImageFormat.Unknown => throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat,
                "The data is not a recognised image; send JPEG, PNG or WebP."),
            _ => throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat,
                $"{format} images are not supported; send JPEG, PNG or WebP."),
        };
    }

    /// <summary>What every decode checks first: not empty, not over the byte limit, a PNG's declared size; the format.</summary>
    internal static ImageFormat CheckAndSniff(ReadOnlySpan<byte> data, DecodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (data.IsEmpty)
        {
            throw new ImageDecodeException(ImageErrorCode.Empty, "The image is empty (0 bytes).");
        }

        ImageLimits.CheckBytes(data.Length, options);
        var format = ImageSniffer.Detect(data);
        // Check IHDR ourselves first so even a file cut right after its header is refused for its size, not its damage.
        if (format == ImageFormat.Png && data.Length >= 24 && data.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            var width = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(16, 4));
            var height = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(20, 4));
            if (width != 0 && height != 0)
            {
                ImageLimits.CheckDimensions("PNG", width, height, options);
            }
        }

        return format;
    }
}
