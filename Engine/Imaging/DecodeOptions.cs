namespace Engine.Imaging;

/// <summary>Limits and hints for <see cref="ImageDecoder"/>. Limits are checked against the header before any pixel buffer exists.</summary>
public sealed record DecodeOptions
{
    public static DecodeOptions Default { get; } = new();

    /// <summary>Largest accepted encoded payload, in bytes (default 20 MB).</summary>
    public long MaxBytes { get; init; } = 20L * 1024 * 1024;

    /// <summary>Largest accepted width × height as declared by the header (default 40 megapixels).</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    /// <summary>Longest accepted side, in pixels (default 16384).</summary>
    public int MaxDimension { get; init; } = 16384;

    /// <summary>
    /// Size the caller will resize to (0 = no hint). JPEG uses it to decode at a reduced DCT scale that is still at
    /// least this large in both dimensions (after EXIF orientation); other formats decode at full size.
    /// </summary>
    public int TargetWidth { get; init; }

    /// <inheritdoc cref="TargetWidth"/>
    public int TargetHeight { get; init; }
}
