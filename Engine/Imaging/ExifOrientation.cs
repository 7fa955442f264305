namespace Engine.Imaging;

/// <summary>Applies an EXIF orientation (1–8, tag 0x0112; the codec reads it from the file) to stored pixels.</summary>
internal static class ExifOrientation
{
    public const int Normal = 1;

    /// <summary>Turns stored pixels into display pixels for an EXIF orientation value.</summary>
    public static RgbImage Apply(RgbImage stored, int orientation) => orientation switch
    {
        2 => ImageOps.FlipHorizontal(stored),
        3 => ImageOps.Rotate180(stored),
        4 => ImageOps.FlipVertical(stored),
        5 => ImageOps.Transpose(stored),
        6 => ImageOps.Rotate90Clockwise(stored),
        7 => ImageOps.Transverse(stored),
        8 => ImageOps.Rotate90CounterClockwise(stored),
        _ => stored,
    };

    public static bool SwapsAxes(int orientation) => orientation is >= 5 and <= 8;
}
