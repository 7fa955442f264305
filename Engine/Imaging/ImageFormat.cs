namespace Engine.Imaging;

/// <summary>Container formats recognised by <see cref="ImageSniffer"/>; only JPEG, PNG and WebP decode.</summary>
public enum ImageFormat
{
    Unknown,
    Jpeg,
    Png,
    WebP,
    Gif,
    Bmp,
    Tiff,
    Svg,
    Heic,
    Avif,
}

/// <summary>Identifies an image format from its leading magic bytes; never trusts a file name or MIME type.</summary>
public static class ImageSniffer
{
    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    public static ImageFormat Detect(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }

        if (data.StartsWith(PngSignature))
        {
            return ImageFormat.Png;
        }

        if (data.Length >= 12 && data.StartsWith("RIFF"u8) && data.Slice(8, 4).SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }

        if (data.StartsWith("GIF87a"u8) || data.StartsWith("GIF89a"u8))
        {
            return ImageFormat.Gif;
        }

        if (data.StartsWith("II*\0"u8) || data.StartsWith("MM\0*"u8))
        {
            return ImageFormat.Tiff;
        }

        if (data.Length >= 12 && data.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            var brand = data.Slice(8, 4);
            if (brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8))
            {
                return ImageFormat.Avif;
            }

            if (brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("hevc"u8)
                || brand.SequenceEqual("heim"u8) || brand.SequenceEqual("heis"u8) || brand.SequenceEqual("mif1"u8)
                || brand.SequenceEqual("msf1"u8))
            {
                return ImageFormat.Heic;
            }
        }

        // "BM" alone is too weak (plenty of text starts with it); also require the DIB header size to be a known one.
        if (data.Length >= 18 && data[0] == (byte)'B' && data[1] == (byte)'M')
        {
            var dibSize = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(14, 4));
            if (dibSize is 12 or 40 or 52 or 56 or 64 or 108 or 124)
            {
                return ImageFormat.Bmp;
            }
        }

        if (LooksLikeSvg(data))
        {
            return ImageFormat.Svg;
        }

        return ImageFormat.Unknown;
    }

    private static bool LooksLikeSvg(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(data.Length, 1024)];
        if (head.StartsWith("\uFEFF"u8))
        {
            head = head[3..];
        }

        head = head.TrimStart(" \t\r\n"u8);
        if (!head.StartsWith("<"u8))
        {
            return false;
        }

        return head.IndexOf("<svg"u8) >= 0;
    }
}
