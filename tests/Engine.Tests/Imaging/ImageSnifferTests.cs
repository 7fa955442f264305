using Engine.Imaging;

namespace Engine.Tests.Imaging;

public sealed class ImageSnifferTests
{
    [Theory]
    [InlineData("picture.jpg", ImageFormat.Jpeg)]
    [InlineData("picture.png", ImageFormat.Png)]
    [InlineData("picture.webp", ImageFormat.WebP)]
    [InlineData("picture-lossless.webp", ImageFormat.WebP)]
    [InlineData("picture.gif", ImageFormat.Gif)]
    [InlineData("picture.bmp", ImageFormat.Bmp)]
    [InlineData("picture.tiff", ImageFormat.Tiff)]
    [InlineData("picture.svg", ImageFormat.Svg)]
    public void Rendered_files_are_recognised_by_their_magic_bytes(string file, ImageFormat expected) =>
        Assert.Equal(expected, ImageSniffer.Detect(TestImages.Read(file)));

    [Fact]
    public void Heic_and_avif_are_recognised_from_their_ftyp_brand()
    {
        Assert.Equal(ImageFormat.Heic, ImageSniffer.Detect("\0\0\0\u0018ftypheic\0\0\0\0mif1heic"u8));
        Assert.Equal(ImageFormat.Avif, ImageSniffer.Detect("\0\0\0\u001cftypavif\0\0\0\0avifmif1"u8));
    }

    [Fact]
    public void Text_and_short_inputs_are_unknown()
    {
        Assert.Equal(ImageFormat.Unknown, ImageSniffer.Detect("BMW is a car maker"u8));
        Assert.Equal(ImageFormat.Unknown, ImageSniffer.Detect("<html><body>hi</body></html>"u8));
        Assert.Equal(ImageFormat.Unknown, ImageSniffer.Detect([0xFF, 0xD8]));
        Assert.Equal(ImageFormat.Unknown, ImageSniffer.Detect([]));
    }
}
