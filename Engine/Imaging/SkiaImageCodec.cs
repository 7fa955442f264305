// JPEG, PNG and WebP decoding through SkiaSharp (Skia's codecs: libjpeg-turbo, libpng and libwebp, bundled by
// SkiaSharp.NativeAssets.Linux.NoDependencies, so nothing comes from the system).
using System.Buffers;
using SkiaSharp;

namespace Engine.Imaging;

internal static class SkiaImageCodec
{
    /// <summary>JPEG's DCT scales, n/8: what libjpeg-turbo decodes at without a resampling pass.</summary>
    private static readonly float[] JpegScales = [.. Enumerable.Range(1, 8).Select(n => n / 8f)];

    /// <summary>
    /// Decodes to 8-bit RGB: the header is read and checked against <paramref name="options"/> before any pixel memory
    /// exists; the EXIF orientation is applied; alpha is composited over white; JPEG decodes at the smallest DCT scale
    /// still covering the target hint. Damage anywhere, truncation included, is <see cref="ImageErrorCode.Corrupt"/>.
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> data, ImageFormat format, DecodeOptions options)
    {
        var (name, library) = format switch
        {
            ImageFormat.Jpeg => ("JPEG", "libjpeg-turbo"),
            ImageFormat.Png => ("PNG", "libpng"),
            ImageFormat.WebP => ("WebP", "libwebp"),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "only JPEG, PNG and WebP decode"),
        };
        using var encoded = SKData.CreateCopy(data);
        using var codec = SKCodec.Create(encoded)
            ?? throw new ImageDecodeException(ImageErrorCode.Corrupt, $"{name} data is corrupt (Skia's {library} could not read the header).");
        if (codec.EncodedFormat != Expected(format))
        {
            throw new ImageDecodeException(ImageErrorCode.Corrupt, $"{name} data is corrupt (Skia reads it as {codec.EncodedFormat}).");
        }
        if (format == ImageFormat.WebP && codec.FrameCount > 1)
        {
            throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat, "Animated WebP is not supported; send a still image.");
        }
        if (format == ImageFormat.Jpeg && JpegHeader.IsCmyk(data))
        {
            // Kept from the libjpeg-turbo 2.x binding, which could not convert it: the Adobe inversion conventions make
            // CMYK a guess, and no user has asked for it.
            throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat, "CMYK JPEG is not supported; convert the image to RGB.");
        }

        var info = codec.Info;
        ImageLimits.CheckDimensions(name, info.Width, info.Height, options);

        var orientation = (int)codec.EncodedOrigin is var origin and >= 1 and <= 8 ? origin : ExifOrientation.Normal;
        var (width, height) = (info.Width, info.Height);
        if (format == ImageFormat.Jpeg && (options.TargetWidth > 0 || options.TargetHeight > 0))
        {
            // The target hint is in display orientation; the decoder works on stored pixels.
            var swap = ExifOrientation.SwapsAxes(orientation);
            (width, height) = ChooseScaledSize(codec, info.Width, info.Height,
                swap ? options.TargetHeight : options.TargetWidth, swap ? options.TargetWidth : options.TargetHeight);
        }

        var opaque = info.AlphaType == SKAlphaType.Opaque;
        var target = new SKImageInfo(width, height, SKColorType.Rgba8888, opaque ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var rgbaLength = checked(width * height * 4);
        var rgba = ArrayPool<byte>.Shared.Rent(rgbaLength);
        try
        {
            var result = codec.GetPixels(target, rgba);
            if (result != SKCodecResult.Success)
            {
                // IncompleteInput leaves the rest grey: a half picture is not a valid input either.
                throw new ImageDecodeException(ImageErrorCode.Corrupt, $"{name} data is corrupt (Skia's {library}: {Describe(result)}).");
            }
            var pixels = GC.AllocateUninitializedArray<byte>(checked(width * height * 3));
            if (opaque)
            {
                Alpha.DropOpaque(rgba.AsSpan(0, rgbaLength), pixels);
            }
            else
            {
                Alpha.CompositeOverWhite(rgba.AsSpan(0, rgbaLength), pixels);
            }
            return ExifOrientation.Apply(new RgbImage(width, height, pixels), orientation);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgba);
        }
    }

    /// <summary>The smallest DCT-scaled size that is still at least the target; a zero target places no constraint on that side.</summary>
    private static (int Width, int Height) ChooseScaledSize(SKCodec codec, int width, int height, int targetWidth, int targetHeight)
    {
        var best = (width, height);
        foreach (var scale in JpegScales)
        {
            var size = codec.GetScaledDimensions(scale);
            if (size.Width >= targetWidth && size.Height >= targetHeight && (long)size.Width * size.Height < (long)best.width * best.height)
            {
                best = (size.Width, size.Height);
            }
        }
        return best;
    }

    private static SKEncodedImageFormat Expected(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => SKEncodedImageFormat.Jpeg,
        ImageFormat.Png => SKEncodedImageFormat.Png,
        _ => SKEncodedImageFormat.Webp,
    };

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data ends early; the file is truncated",
        SKCodecResult.ErrorInInput => "the data is damaged",
        SKCodecResult.InvalidInput => "the data is invalid",
        _ => result.ToString(),
    };
}
