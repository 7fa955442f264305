using System.Globalization;

namespace Engine.Imaging;

/// <summary>Refuses over-limit images from their declared dimensions, before pixel memory is allocated.</summary>
internal static class ImageLimits
{
    public static void CheckBytes(long length, DecodeOptions options)
    {
        if (length > options.MaxBytes)
        {
            throw new ImageDecodeException(ImageErrorCode.TooLarge,
                $"The image is {FormatBytes(length)}; the limit is {FormatBytes(options.MaxBytes)}.");
        }
    }

    public static void CheckDimensions(string format, long width, long height, DecodeOptions options)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ImageDecodeException(ImageErrorCode.Corrupt, $"{format} header says {width}×{height}, which is not a valid size.");
        }

        var pixels = width * height;
        if (pixels > options.MaxPixels)
        {
            throw new ImageDecodeException(ImageErrorCode.TooManyPixels,
                $"{format} header says {width}×{height} = {FormatPixels(pixels)}; the limit is {FormatPixels(options.MaxPixels)}.");
        }

        if (width > options.MaxDimension || height > options.MaxDimension)
        {
            throw new ImageDecodeException(ImageErrorCode.TooManyPixels,
                $"{format} header says {width}×{height}; no side may exceed {options.MaxDimension} pixels.");
        }
    }

    internal static string FormatPixels(long pixels) => pixels switch
    {
        >= 1_000_000_000 => Scaled(pixels / 1e9, "gigapixels"),
        >= 1_000_000 => Scaled(pixels / 1e6, "megapixels"),
        _ => pixels.ToString("N0", CultureInfo.InvariantCulture) + " pixels",
    };

    private static string FormatBytes(long bytes) => bytes switch
    {
        >= 1024 * 1024 => Scaled(bytes / (1024.0 * 1024), "MB"),
        >= 1024 => Scaled(bytes / 1024.0, "KB"),
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
    };

    private static string Scaled(double value, string unit) =>
        value.ToString(value >= 100 || value == Math.Floor(value) ? "0" : "0.#", CultureInfo.InvariantCulture) + " " + unit;
}
