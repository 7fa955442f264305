// Guards the rendered OCR fixtures (scripts/render-ocr-fixtures.sh): every image has its truth and vice versa.
using System.Text.Json;
using Engine.Tests.Models;

namespace Engine.Tests.Fixtures.Ocr;

public sealed class OcrFixtureTests
{
    private static readonly string Directory = Path.Combine(RepoPaths.Root, "tests", "Engine.Tests", "Fixtures", "Ocr");

    private static Dictionary<string, JsonElement> Truth()
        => JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(Directory, "truth.json")))!;

    [Fact]
    public void Every_image_has_its_truth_and_every_truth_its_image()
    {
        var images = System.IO.Directory.EnumerateFiles(Directory)
            .Select(Path.GetFileName)
            .Where(f => f!.EndsWith(".png", StringComparison.Ordinal) || f.EndsWith(".jpg", StringComparison.Ordinal) || f.EndsWith(".webp", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

        Assert.Equal(images, Truth().Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_set_holds_40_lines_3_pages_and_5_upside_down_lines()
    {
        var truth = Truth();

        Assert.Equal(40, truth.Keys.Count(k => k.StartsWith("line-", StringComparison.Ordinal) && k.EndsWith(".png", StringComparison.Ordinal)));
        Assert.Equal(10, truth.Keys.Count(k => k.StartsWith("line-", StringComparison.Ordinal) && k.EndsWith(".jpg", StringComparison.Ordinal)));
        Assert.Equal(10, truth.Keys.Count(k => k.StartsWith("line-", StringComparison.Ordinal) && k.EndsWith(".webp", StringComparison.Ordinal)));
        var pages = truth.Where(e => e.Key.StartsWith("page-", StringComparison.Ordinal)).ToList();
        Assert.Equal(9, pages.Count);
        Assert.All(pages, p => Assert.InRange(p.Value.GetProperty("lines").GetArrayLength(), 3, 6));
        var upsideDown = truth.Where(e => e.Key.StartsWith("upside-down-", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, upsideDown.Count);
        Assert.All(upsideDown, u => Assert.Equal(
            truth[u.Value.GetProperty("source").GetString()!].GetProperty("text").GetString(),
            u.Value.GetProperty("text").GetString()));
    }

    [Theory]
    [InlineData(".png", new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' })]
    [InlineData(".jpg", new byte[] { 0xFF, 0xD8, 0xFF })]
    [InlineData(".webp", new byte[] { (byte)'R', (byte)'I', (byte)'F', (byte)'F' })]
    public void Each_file_is_encoded_as_its_extension_says(string extension, byte[] magic)
    {
        var files = System.IO.Directory.EnumerateFiles(Directory, "*" + extension).ToList();

        Assert.NotEmpty(files);
        Assert.All(files, f => Assert.Equal(magic, File.ReadAllBytes(f)[..magic.Length]));
    }
}
