using Engine.Imaging;

namespace Engine.Tests.Imaging;

public sealed class ImageDecoderTests
{
    [Fact]
    public void Same_picture_as_png_jpeg_and_webp_decodes_to_the_same_size_and_nearly_the_same_pixels()
    {
        var png = TestImages.Decode("picture.png");
        var jpeg = TestImages.Decode("picture.jpg");
        var webp = TestImages.Decode("picture.webp");
        var lossless = TestImages.Decode("picture-lossless.webp");

        Assert.Equal((64, 48), (png.Width, png.Height));
        Assert.True(TestImages.MeanAbsoluteDifference(png, jpeg) < 2.5, "JPEG q95 should be within 2.5 levels on average");
        Assert.True(TestImages.MeanAbsoluteDifference(png, webp) < 4, "lossy WebP q95 should be within 4 levels on average");
        Assert.Equal(png.Pixels, lossless.Pixels);
    }

    [Fact]
    public void Known_colour_pattern_png_decodes_to_exact_pixel_values()
    {
        byte[] samples =
        [
            255, 0, 0, 0, 255, 0, 0, 0, 255,
            0, 0, 0, 128, 64, 32, 255, 255, 255,
        ];

        var image = ImageDecoder.Decode(TestImages.EncodePng(3, 2, samples), DecodeOptions.Default);

        Assert.Equal((3, 2), (image.Width, image.Height));
        Assert.Equal(samples, image.Pixels);
        Assert.Equal((128, 64, 32), image.GetPixel(1, 1));
    }

    [Fact]
    public void Png_alpha_is_composited_over_white()
    {
        byte[] rgba = [255, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 128];

        var image = ImageDecoder.Decode(TestImages.EncodePng(3, 1, rgba, alpha: true), DecodeOptions.Default);

        Assert.Equal((255, 0, 0), image.GetPixel(0, 0)); // opaque red stays red
        Assert.Equal((255, 255, 255), image.GetPixel(1, 0)); // transparent becomes white
        var (r, g, b) = image.GetPixel(2, 0); // half-transparent black over white is mid grey
        Assert.InRange(r, 125, 129);
        Assert.Equal(r, g);
        Assert.Equal(r, b);
    }

    [Theory]
    [InlineData("picture-orient6.jpg")] // rotate 90° clockwise, little-endian EXIF
    [InlineData("picture-orient3.jpg")] // rotate 180°, big-endian EXIF
    [InlineData("picture-orient8.jpg")] // rotate 90° counter-clockwise, big-endian EXIF
    public void Jpeg_exif_orientation_is_applied_so_the_picture_comes_out_upright(string file)
    {
        var upright = TestImages.Decode("picture.png");

        var decoded = TestImages.Decode(file);

        Assert.Equal((upright.Width, upright.Height), (decoded.Width, decoded.Height));
        Assert.True(TestImages.MeanAbsoluteDifference(upright, decoded) < 3);
        // The white bar sits in the top-left corner only when the rotation was applied the right way round.
        var (r, g, b) = decoded.GetPixel(10, 5);
        Assert.True(r > 240 && g > 240 && b > 240, $"expected white at (10,5), got {r},{g},{b}");
    }

    [Fact]
    public void Jpeg_without_orientation_applied_would_differ_from_the_upright_picture()
    {
        // Guards the test above: the stored pixels of the orientation-6 file really are sideways.
        var withExif = TestImages.Read("picture-orient6.jpg");
        byte[] withoutExif = [0xFF, 0xD8, .. withExif.AsSpan(2 + 36)]; // drop the 36-byte APP1 after SOI

        var sideways = ImageDecoder.Decode(withoutExif, DecodeOptions.Default);

        Assert.Equal((48, 64), (sideways.Width, sideways.Height));
    }

    [Fact]
    public void Large_jpeg_with_a_small_target_decodes_at_a_reduced_dct_scale_that_still_covers_the_target()
    {
        var options = new DecodeOptions { TargetWidth = 400, TargetHeight = 300 };

        var scaled = TestImages.Decode("large.jpg", options);

        Assert.Equal((500, 375), (scaled.Width, scaled.Height)); // 1/8 of 4000×3000, the smallest scale ≥ 400×300
        var full = TestImages.Decode("large.jpg");
        Assert.Equal((4000, 3000), (full.Width, full.Height));
        var reference = ImageOps.Resize(full, scaled.Width, scaled.Height, ResizeMethod.Area);
        Assert.True(TestImages.MeanAbsoluteDifference(reference, scaled) < 3);
    }

    [Fact]
    public void Target_hint_is_read_in_display_orientation_for_rotated_jpegs()
    {
        // Stored 48×64, displayed 64×48: a 32×24 display target allows 1/2 scale (stored 24×32, displayed 32×24).
        var decoded = TestImages.Decode("picture-orient6.jpg", new DecodeOptions { TargetWidth = 32, TargetHeight = 24 });

        Assert.Equal((32, 24), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void Png_header_claiming_100000_by_100000_is_refused_before_any_pixel_memory_is_allocated()
    {
        var png = TestImages.PngFile(100_000, 100_000, 2, [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, DecodeOptions.Default));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024);
        Assert.Equal(ImageErrorCode.TooManyPixels, error.Code);
        Assert.Equal("PNG header says 100000×100000 = 10 gigapixels; the limit is 40 megapixels.", error.Message);
    }

    [Fact]
    public void Jpeg_over_the_pixel_limit_is_refused_before_decoding()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();

        var error = Assert.Throws<ImageDecodeException>(() =>
            TestImages.Decode("large.jpg", new DecodeOptions { MaxPixels = 10_000_000 }));

        Assert.Equal(ImageErrorCode.TooManyPixels, error.Code);
        Assert.Contains("4000×3000 = 12 megapixels", error.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024 * 1024, "no 36 MB pixel buffer may be allocated");
    }

    [Fact]
    public void Image_with_a_side_over_the_dimension_limit_is_refused()
    {
        var png = TestImages.PngFile(20_000, 10, 2, [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(png, DecodeOptions.Default));

        Assert.Equal(ImageErrorCode.TooManyPixels, error.Code);
        Assert.Contains("16384", error.Message);
    }

    [Fact]
    public void Payload_over_the_byte_limit_is_too_large()
    {
        var error = Assert.Throws<ImageDecodeException>(() =>
            TestImages.Decode("picture.png", new DecodeOptions { MaxBytes = 1000 }));

        Assert.Equal(ImageErrorCode.TooLarge, error.Code);
    }

    [Fact]
    public void Empty_input_is_empty()
    {
        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode([], DecodeOptions.Default));

        Assert.Equal(ImageErrorCode.Empty, error.Code);
    }

    [Fact]
    public void Random_bytes_are_an_unsupported_format()
    {
        var noise = new byte[4096];
        new Random(1).NextBytes(noise);
        noise[0] = 0x00;

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(noise, DecodeOptions.Default));

        Assert.Equal(ImageErrorCode.UnsupportedFormat, error.Code);
    }

    [Theory]
    [InlineData("picture.gif", "Gif")]
    [InlineData("picture.bmp", "Bmp")]
    [InlineData("picture.tiff", "Tiff")]
    [InlineData("picture.svg", "Svg")]
    [InlineData("picture-cmyk.jpg", "CMYK JPEG")]
    public void Formats_other_than_jpeg_png_and_webp_are_unsupported(string file, string name)
    {
        var error = Assert.Throws<ImageDecodeException>(() => TestImages.Decode(file));

        Assert.Equal(ImageErrorCode.UnsupportedFormat, error.Code);
        Assert.StartsWith(name, error.Message);
    }

    // Truncation is always Corrupt, never a partly grey image: Skia's IncompleteInput (its codecs are libjpeg-turbo, libpng, libwebp) is refused.
    [Theory]
    [InlineData("picture.jpg", "libjpeg-turbo")]
    [InlineData("picture.png", "libpng")]
    [InlineData("picture.webp", "libwebp")]
    [InlineData("picture-lossless.webp", "libwebp")]
    [InlineData("large.jpg", "libjpeg-turbo")]
    public void Truncated_files_are_corrupt_with_the_codec_message(string file, string codec)
    {
        var data = TestImages.Read(file);
        foreach (var fraction in new[] { 0.25, 0.5, 0.9, 0.99 })
        {
            var cut = data.AsSpan(0, (int)(data.Length * fraction)).ToArray();

            var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(cut, DecodeOptions.Default));

            Assert.Equal(ImageErrorCode.Corrupt, error.Code);
            Assert.Contains(codec, error.Message);
        }
    }

    [Fact]
    public void Png_with_a_damaged_chunk_checksum_is_corrupt()
    {
        var data = TestImages.Read("picture.png");
        data[60] ^= 0x55; // inside IDAT data, so its CRC no longer matches

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.Decode(data, DecodeOptions.Default));

        Assert.Equal(ImageErrorCode.Corrupt, error.Code);
    }
}
