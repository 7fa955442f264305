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
}
