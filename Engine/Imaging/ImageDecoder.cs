using System.Buffers.Binary;
using Engine.Imaging.Native;

namespace Engine.Imaging;

/// <summary>
/// Decodes JPEG, PNG and WebP bytes to <see cref="RgbImage"/>. The format comes from magic bytes; limits are enforced
/// from the header before pixel memory is allocated; every failure is an <see cref="ImageDecodeException"/>.
/// </summary>
public static class ImageDecoder
{
    public static RgbImage Decode(ReadOnlySpan<byte> data) => Decode(data, DecodeOptions.Default);

    public static RgbImage Decode(ReadOnlySpan<byte> data, DecodeOptions options)
    {
        var format = CheckAndSniff(data, options);
        return format switch
        {
            ImageFormat.Jpeg => DecodeJpeg(data, options),
            ImageFormat.Png => LibPng.Decode(data, options),
            ImageFormat.WebP => LibWebP.Decode(data, options),
            ImageFormat.Unknown => throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat,
                "The data is not a recognised image; send JPEG, PNG or WebP."),
            _ => throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat,
                $"{format} images are not supported; send JPEG, PNG or WebP."),
        };
    }

    private static RgbImage DecodeJpeg(ReadOnlySpan<byte> data, DecodeOptions options)
    {
        using var handle = TurboJpeg.CreateDecompressor();
        var (width, height) = TurboJpeg.ReadHeader(handle, data);
        ImageLimits.CheckDimensions("JPEG", width, height, options);

        // The target hint is in display orientation; the decoder works on stored pixels.
        var orientation = ExifOrientation.Read(data);
        var swap = ExifOrientation.SwapsAxes(orientation);
        var (scaledWidth, scaledHeight) = TurboJpeg.ChooseScaledSize(width, height,
            swap ? options.TargetHeight : options.TargetWidth,
            swap ? options.TargetWidth : options.TargetHeight);

        var pixels = GC.AllocateUninitializedArray<byte>(checked(scaledWidth * scaledHeight * 3));
        TurboJpeg.Decompress(handle, data, pixels, scaledWidth, scaledHeight);
        return ExifOrientation.Apply(new RgbImage(scaledWidth, scaledHeight, pixels), orientation);
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
