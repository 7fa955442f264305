using System.Buffers.Binary;

namespace Engine.Imaging;

/// <summary>Reads the EXIF orientation (tag 0x0112 in IFD0 of the APP1 "Exif" block) from JPEG bytes and applies it.</summary>
internal static class ExifOrientation
{
    public const int Normal = 1;

    /// <summary>Returns 1–8; 1 when there is no EXIF block, no tag, or anything looks malformed.</summary>
    public static int Read(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8)
        {
            return Normal;
        }

        var pos = 2;
        while (pos + 4 <= jpeg.Length)
        {
            if (jpeg[pos] != 0xFF)
            {
                return Normal;
            }

            var marker = jpeg[pos + 1];
            if (marker == 0xFF)
            {
                pos++; // fill byte
                continue;
            }

            if (marker is 0x01 or 0xD8 or (>= 0xD0 and <= 0xD7))
            {
                pos += 2; // markers without a length
                continue;
            }

            if (marker is 0xDA or 0xD9)
            {
                return Normal; // start of scan / end of image: metadata is over
            }

            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.Slice(pos + 2, 2));
            if (length < 2 || pos + 2 + length > jpeg.Length)
            {
                return Normal;
            }

            var segment = jpeg.Slice(pos + 4, length - 2);
            if (marker == 0xE1 && segment.StartsWith("Exif\0\0"u8))
            {
                return ReadTiff(segment[6..]);
            }

            pos += 2 + length;
        }

        return Normal;
    }

    private static int ReadTiff(ReadOnlySpan<byte> tiff)
    {
        if (tiff.Length < 8)
        {
            return Normal;
        }

        bool little;
        if (tiff.StartsWith("II"u8))
        {
            little = true;
        }
        else if (tiff.StartsWith("MM"u8))
        {
            little = false;
        }
        else
        {
            return Normal;
        }

        if (U16(tiff, 2, little) != 42)
        {
            return Normal;
        }

        var ifd = U32(tiff, 4, little);
        if (ifd > (uint)(tiff.Length - 2))
        {
            return Normal;
        }

        var count = U16(tiff, (int)ifd, little);
        for (var i = 0; i < count; i++)
        {
            var entry = (int)ifd + 2 + 12 * i;
            if (entry + 12 > tiff.Length)
            {
                return Normal;
            }

            if (U16(tiff, entry, little) != 0x0112)
            {
                continue;
            }

            // Type 3 = SHORT, count 1: the value sits in the first two bytes of the value field.
            if (U16(tiff, entry + 2, little) != 3)
            {
                return Normal;
            }

            var value = U16(tiff, entry + 8, little);
            return value is >= 1 and <= 8 ? value : Normal;
        }

        return Normal;
    }

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

    private static int U16(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt16LittleEndian(b.Slice(at, 2)) : BinaryPrimitives.ReadUInt16BigEndian(b.Slice(at, 2));

    private static uint U32(ReadOnlySpan<byte> b, int at, bool little) =>
        little ? BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(at, 4)) : BinaryPrimitives.ReadUInt32BigEndian(b.Slice(at, 4));
}
