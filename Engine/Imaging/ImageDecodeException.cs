namespace Engine.Imaging;

/// <summary>Why an image could not be decoded; maps to a client error (the input is at fault, never retried).</summary>
public enum ImageErrorCode
{
    /// <summary>No bytes were supplied.</summary>
    Empty,

    /// <summary>The bytes are not JPEG, PNG or WebP (GIF, BMP, TIFF, SVG, HEIC, AVIF, animated WebP or unknown).</summary>
    UnsupportedFormat,

    /// <summary>The format was recognised but the data is damaged or truncated; the message carries the codec's words.</summary>
    Corrupt,

    /// <summary>The encoded payload exceeds <see cref="DecodeOptions.MaxBytes"/>.</summary>
    TooLarge,

    /// <summary>The header declares more pixels than <see cref="DecodeOptions.MaxPixels"/> or a side longer than <see cref="DecodeOptions.MaxDimension"/>.</summary>
    TooManyPixels,
}

/// <summary>The one exception <see cref="ImageDecoder"/> throws for bad input.</summary>
public sealed class ImageDecodeException(ImageErrorCode code, string message) : Exception(message)
{
    public ImageErrorCode Code { get; } = code;
}
