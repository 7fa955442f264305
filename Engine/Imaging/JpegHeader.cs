using System.Buffers.Binary;

namespace Engine.Imaging;

/// <summary>Reads what the decoders do not report from a JPEG's markers: whether its frame holds four components (CMYK/YCCK).</summary>
internal static class JpegHeader
{
    public static bool IsCmyk(ReadOnlySpan<byte> jpeg)
    {
        var pos = 2;
        while (pos + 4 <= jpeg.Length && jpeg[pos] == 0xFF)
        {
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
                return false; // start of scan / end of image before any frame header
            }
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.Slice(pos + 2, 2));
            // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width, then the component count.
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
            {
                return length >= 8 && pos + 9 < jpeg.Length && jpeg[pos + 9] == 4;
            }
            pos += 2 + length;
        }
        return false;
    }
}
