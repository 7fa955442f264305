using System.Runtime.Intrinsics;

namespace Engine.Imaging;

/// <summary>One alpha policy for every format: composite over white in sRGB space (what PIL/OpenCV pipelines do).</summary>
internal static class Alpha
{
    public static void CompositeOverWhite(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        if (rgb.Length / 3 != rgba.Length / 4)
        {
            throw new ArgumentException("RGBA and RGB buffers hold different pixel counts.");
        }

        for (int i = 0, o = 0; o + 2 < rgb.Length; i += 4, o += 3)
        {
            int a = rgba[i + 3];
            var white = 255 * (255 - a) + 127;
            rgb[o] = (byte)((rgba[i] * a + white) / 255);
            rgb[o + 1] = (byte)((rgba[i + 1] * a + white) / 255);
            rgb[o + 2] = (byte)((rgba[i + 2] * a + white) / 255);
        }
    }

    /// <summary>RGBA whose alpha is 255 everywhere (the codec said so) to RGB: four pixels per shuffle.</summary>
    public static void DropOpaque(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        if (rgb.Length / 3 != rgba.Length / 4)
        {
            throw new ArgumentException("RGBA and RGB buffers hold different pixel counts.");
        }

        var i = 0;
        var o = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            // 16 bytes in (4 pixels), 12 out; the 4 junk bytes at the end of each store are overwritten by the next one.
            var keep = Vector128.Create((byte)0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 0x80, 0x80, 0x80, 0x80);
            for (; o + 16 <= rgb.Length; i += 16, o += 12)
            {
                Vector128.Shuffle(Vector128.Create(rgba.Slice(i, 16)), keep).CopyTo(rgb.Slice(o, 16));
            }
        }

        for (; o + 2 < rgb.Length; i += 4, o += 3)
        {
            rgb[o] = rgba[i];
            rgb[o + 1] = rgba[i + 1];
            rgb[o + 2] = rgba[i + 2];
        }
    }
}
