using System.Buffers;
using System.Runtime.InteropServices;

namespace Engine.Imaging.Native;

/// <summary>Safe wrapper over libwebp's simple decoding API (libwebp.so.7).</summary>
internal static unsafe partial class LibWebP
{
    private const string Library = "libwebp.so.7";
    private const int DecoderAbiVersion = 0x0209; // WEBP_DECODER_ABI_VERSION in libwebp 1.2

    /// <summary>
    /// Decodes a still WebP to RGB; alpha is removed by compositing over white (like PNG). Animated files are refused.
    /// Dimensions are checked against <paramref name="options"/> before allocation.
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> webp, DecodeOptions options)
    {
        fixed (byte* source = webp)
        {
            BitstreamFeatures features;
            var status = WebPGetFeaturesInternal(source, (nuint)webp.Length, &features, DecoderAbiVersion);
            if (status != 0)
            {
                throw new ImageDecodeException(ImageErrorCode.Corrupt, $"WebP data is corrupt (libwebp: {Describe(status)}).");
            }

            if (features.HasAnimation != 0)
            {
                throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat, "Animated WebP is not supported; send a still image.");
            }

            ImageLimits.CheckDimensions("WebP", features.Width, features.Height, options);
            var width = features.Width;
            var height = features.Height;
            var pixels = GC.AllocateUninitializedArray<byte>(checked(width * height * 3));
            if (features.HasAlpha == 0)
            {
                fixed (byte* destination = pixels)
                {
                    if (WebPDecodeRGBInto(source, (nuint)webp.Length, destination, (nuint)pixels.Length, width * 3) == null)
                    {
                        throw DecodeFailed();
                    }
                }

                return new RgbImage(width, height, pixels);
            }

            var rgba = ArrayPool<byte>.Shared.Rent(checked(width * height * 4));
            try
            {
                fixed (byte* destination = rgba)
                {
                    if (WebPDecodeRGBAInto(source, (nuint)webp.Length, destination, (nuint)rgba.Length, width * 4) == null)
                    {
                        throw DecodeFailed();
                    }
                }

                Alpha.CompositeOverWhite(rgba.AsSpan(0, width * height * 4), pixels);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rgba);
            }

            return new RgbImage(width, height, pixels);
        }
    }

    private static ImageDecodeException DecodeFailed() =>
        new(ImageErrorCode.Corrupt, "WebP data is corrupt (libwebp could not decode the bitstream).");

    private static string Describe(int status) => status switch
    {
        1 => "out of memory",
        2 => "invalid parameter",
        3 => "bitstream error",
        4 => "unsupported feature",
        5 => "suspended",
        6 => "user abort",
        7 => "not enough data; the file is truncated",
        _ => $"status {status}",
    };

    // WebPBitstreamFeatures from webp/decode.h.
    [StructLayout(LayoutKind.Sequential)]
    private struct BitstreamFeatures
    {
        public int Width;
        public int Height;
        public int HasAlpha;
        public int HasAnimation;
        public int Format;
        public fixed uint Pad[5];
    }

    [LibraryImport(Library)]
    private static partial int WebPGetFeaturesInternal(byte* data, nuint dataSize, BitstreamFeatures* features, int version);

    [LibraryImport(Library)]
    private static partial byte* WebPDecodeRGBInto(byte* data, nuint dataSize, byte* outputBuffer, nuint outputBufferSize, int outputStride);

    [LibraryImport(Library)]
    private static partial byte* WebPDecodeRGBAInto(byte* data, nuint dataSize, byte* outputBuffer, nuint outputBufferSize, int outputStride);
}
