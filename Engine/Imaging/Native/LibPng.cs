using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace Engine.Imaging.Native;

/// <summary>Safe wrapper over libpng's simplified read API (libpng16.so.16). libpng's setjmp/longjmp stays inside the library.</summary>
internal static unsafe partial class LibPng
{
    private const string Library = "libpng16.so.16";
    private const uint ImageVersion = 1; // PNG_IMAGE_VERSION
    private const uint FormatRgb = 0x02; // PNG_FORMAT_RGB
    private const uint FormatRgba = 0x03; // PNG_FORMAT_RGBA
    private const uint FormatFlagAlpha = 0x01; // PNG_FORMAT_FLAG_ALPHA

    /// <summary>
    /// Decodes to 8-bit sRGB RGB. Grey, palette and 16-bit images are converted; alpha (including tRNS) is removed by
    /// compositing over white in sRGB space, exactly like WebP. (libpng's own background compositing works in linear
    /// light, which would make the same translucent picture come out lighter from PNG than from WebP.) Dimensions are checked against <paramref name="options"/> after the header is read and before allocation.
    /// </summary>
    public static RgbImage Decode(ReadOnlySpan<byte> png, DecodeOptions options)
    {
        var image = default(PngImage);
        image.Version = ImageVersion;
        try
        {
            fixed (byte* source = png)
            {
                if (png_image_begin_read_from_memory(&image, source, (nuint)png.Length) == 0)
                {
                    throw Corrupt(&image);
                }

                ImageLimits.CheckDimensions("PNG", image.Width, image.Height, options);
                var width = (int)image.Width;
                var height = (int)image.Height;
                var pixels = GC.AllocateUninitializedArray<byte>(checked(width * height * 3));
                if ((image.Format & FormatFlagAlpha) == 0)
                {
                    image.Format = FormatRgb;
                    fixed (byte* destination = pixels)
                    {
                        if (png_image_finish_read(&image, null, destination, width * 3, null) == 0)
                        {
                            throw Corrupt(&image);
                        }
                    }

                    return new RgbImage(width, height, pixels);
                }

                image.Format = FormatRgba;
                var rgba = ArrayPool<byte>.Shared.Rent(checked(width * height * 4));
                try
                {
                    fixed (byte* destination = rgba)
                    {
                        if (png_image_finish_read(&image, null, destination, width * 4, null) == 0)
                        {
                            throw Corrupt(&image);
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
        finally
        {
            // Safe after finish_read or failure too: it only frees what is still held.
            png_image_free(&image);
        }
    }

    private static ImageDecodeException Corrupt(PngImage* image)
    {
        var span = new ReadOnlySpan<byte>(image->Message, 64);
        var end = span.IndexOf((byte)0);
        var message = Encoding.UTF8.GetString(end >= 0 ? span[..end] : span);
        if (message.Length == 0)
        {
            message = "unknown error";
        }

        return new ImageDecodeException(ImageErrorCode.Corrupt, $"PNG data is corrupt (libpng: {message}).");
    }

    // png_image from png.h (libpng 1.6).
    [StructLayout(LayoutKind.Sequential)]
    private struct PngImage
    {
        public IntPtr Opaque;
        public uint Version;
        public uint Width;
        public uint Height;
        public uint Format;
        public uint Flags;
        public uint ColormapEntries;
        public uint WarningOrError;
        public fixed byte Message[64];
    }

    [LibraryImport(Library)]
    private static partial int png_image_begin_read_from_memory(PngImage* image, byte* memory, nuint size);

    [LibraryImport(Library)]
    private static partial int png_image_finish_read(PngImage* image, void* background, byte* buffer, int rowStride, void* colormap);

    [LibraryImport(Library)]
    private static partial void png_image_free(PngImage* image);
}
