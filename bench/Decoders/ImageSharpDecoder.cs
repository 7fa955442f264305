// The comparison's SixLabors.ImageSharp 2.1.13 path, held to the Engine decoder's contract: header checked before
// pixels exist, EXIF orientation applied, alpha over white, every failure an ImageDecodeException.
using System.Runtime.InteropServices;
using Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Decoders;

internal static class ImageSharpDecoder
{
    public static RgbImage Decode(ReadOnlySpan<byte> data, DecodeOptions options)
    {
        var format = ImageDecoder.CheckAndSniff(data, options);
        if (format is not (ImageFormat.Jpeg or ImageFormat.Png or ImageFormat.WebP))
        {
            throw new ImageDecodeException(ImageErrorCode.UnsupportedFormat, $"{format} images are not supported.");
        }
        try
        {
            var bytes = data.ToArray();
            var info = Image.Identify(bytes) ?? throw new ImageDecodeException(ImageErrorCode.Corrupt, $"{format}: ImageSharp cannot identify it.");
            ImageLimits.CheckDimensions(format.ToString(), info.Width, info.Height, options);
            // ImageSharp 2.x has no DCT scaling (3.x's DecoderOptions.TargetSize is under the paid licence): full size always.
            using var image = Image.Load<Rgba32>(bytes);
            image.Mutate(x => x.AutoOrient());
            var rgba = new byte[image.Width * image.Height * 4];
            image.CopyPixelDataTo(MemoryMarshal.Cast<byte, Rgba32>(rgba.AsSpan()));
            var pixels = new byte[image.Width * image.Height * 3];
            Alpha.CompositeOverWhite(rgba, pixels);
            return new RgbImage(image.Width, image.Height, pixels);
        }
        catch (Exception e) when (e is ImageFormatException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            // InvalidImageContentException and UnknownImageFormatException derive from ImageFormatException.
            throw new ImageDecodeException(ImageErrorCode.Corrupt, $"{format} data is corrupt (ImageSharp: {e.Message}).");
        }
    }
}
