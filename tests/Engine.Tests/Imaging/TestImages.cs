using System.Buffers.Binary;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using Engine.Imaging;

namespace Engine.Tests.Imaging;

/// <summary>Fixture loading (rendered by scripts/render-imaging-fixtures.sh) and hand-built PNGs for exact-value tests.</summary>
internal static class TestImages
{
    public static string FixturesDirectory { get; } = Path.Combine(ThisDirectory(), "Fixtures");

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(FixturesDirectory, name));

    public static RgbImage Decode(string name, DecodeOptions? options = null) =>
        ImageDecoder.Decode(Read(name), options ?? DecodeOptions.Default);

    public static double MeanAbsoluteDifference(RgbImage a, RgbImage b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        long sum = 0;
        for (var i = 0; i < a.Pixels.Length; i++)
        {
            sum += Math.Abs(a.Pixels[i] - b.Pixels[i]);
        }

        return (double)sum / a.Pixels.Length;
    }

    public static RgbImage FromPixels(int width, int height, params byte[] rgb) => new(width, height, rgb);

    /// <summary>A PNG holding exactly the given 8-bit samples (colour type 2 = RGB, 6 = RGBA), no gamma chunks.</summary>
    public static byte[] EncodePng(int width, int height, byte[] samples, bool alpha = false)
    {
        var channels = alpha ? 4 : 3;
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (var y = 0; y < height; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(samples, y * width * channels, width * channels);
            }
        }

        return PngFile(width, height, alpha ? (byte)6 : (byte)2, raw.ToArray());
    }

    /// <summary>A structurally valid PNG whose IHDR claims any size, with a tiny IDAT that cannot fill it.</summary>
    public static byte[] PngFile(uint width, uint height, byte colorType, byte[] idat)
    {
        using var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = colorType;
        WriteChunk(file, "IHDR", ihdr);
        WriteChunk(file, "IDAT", idat);
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    private static byte[] PngFile(int width, int height, byte colorType, byte[] idat) =>
        PngFile((uint)width, (uint)height, colorType, idat);

    private static void WriteChunk(Stream file, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        file.Write(word);
        var typeAndData = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        file.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        file.Write(word);
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }

    private static string ThisDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
