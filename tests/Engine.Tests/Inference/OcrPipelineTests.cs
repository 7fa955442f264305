// The ocr pipeline (detect → orient → recognize) on rendered pages: every line found, read, and in reading order.
using Contracts.Models;
using Engine.Imaging;

namespace Engine.Tests.Inference;

public sealed class OcrPipelineTests(OcrModels models, ITestOutputHelper output) : IClassFixture<OcrModels>
{
    public static TheoryData<string> Pages() => [.. from p in Enumerable.Range(1, 3) from ext in new[] { "png", "jpg", "webp" } select $"page-{p}.{ext}"];

    [Theory]
    [MemberData(nameof(Pages))]
    public void A_page_reads_every_line_in_reading_order(string page)
    {
        var expected = models.LinesOf(page);

        var lines = OcrModels.Read(models, page).Lines;

        foreach (var line in lines)
        {
            output.WriteLine($"[{line.Text}] conf {line.Confidence:F3} angle {line.Angle} top {line.Box[0][1]}");
        }

        Assert.Equal(expected.Length, lines.Count);
        // Reading order: each line starts below the previous one, and each is read close to its own line of the truth.
        Assert.True(lines.Zip(lines.Skip(1), (a, b) => a.Box[0][1] < b.Box[0][1]).All(x => x), "lines are not top to bottom");
        Assert.All(expected.Zip(lines), pair => Assert.True(
            TextDistance.Levenshtein(pair.First, pair.Second.Text.Trim()) <= pair.First.Length / 4,
            $"line out of order or unreadable: expected [{pair.First}], got [{pair.Second.Text}]"));
        Assert.All(lines, l => Assert.Equal(0, l.Angle));
    }

    // The issue's bar: 90 % of the pages' lines exact. Measured 33/33 (was 32/33 with the box widened by 0.4 × its height
    // into the image, 17/33 with flush crops). These pages are where the settings were first tuned: check a change on a
    // held-out set too (OcrHeldOutEvaluation).
    // Each line is printed with its box and the size of the crops cut for the classifier and the recognizer, to see
    // where a miss comes from (two lines in one box, a box cutting a character off, a crop with no margin).
    [Fact]
    public void All_pages_together_have_at_least_90_percent_of_lines_exact()
    {
        var pipeline = models.Definition("ocr").Manifest.Pipeline!;
        var (margin, ends) = (pipeline.CropMargin, pipeline.CropMarginEnds ?? pipeline.CropMargin);
        var (total, exact, errors, characters) = (0, 0, 0, 0);
        foreach (var page in Pages().Select(p => (string)p.Data))
        {
            var expected = models.LinesOf(page);
            var lines = OcrModels.Read(models, page).Lines;
            total += expected.Length;
            var pageExact = expected.Zip(lines, (e, l) => e == l.Text.Trim()).Count(x => x);
            exact += pageExact;
            errors += expected.Zip(lines, (e, l) => TextDistance.Levenshtein(e, l.Text.Trim())).Sum();
            characters += expected.Sum(e => e.Length);
            output.WriteLine($"{page}: {pageExact}/{expected.Length} exact, {lines.Count} lines found");
            for (var i = 0; i < Math.Max(expected.Length, lines.Count); i++)
            {
                var want = i < expected.Length ? expected[i] : "(none)";
                if (i >= lines.Count)
                {
                    output.WriteLine($"  MISS [{want}]");
                    continue;
                }
                var line = lines[i];
                var quad = line.Box.Select(p => new PointF(p[0], p[1])).ToArray();
                var flush = ImageOps.QuadCropSize(quad);
                var height = Math.Min(flush.Width, flush.Height);
                var widened = ImageOps.QuadCropSize(ImageOps.WidenQuad(quad, ends * height, margin * height));
                output.WriteLine($"  {(want == line.Text.Trim() ? "ok  " : "BAD ")}[{want}] got [{line.Text.Trim()}] conf {line.Confidence:F3} " +
                    $"box ({line.Box[0][0]},{line.Box[0][1]})-({line.Box[2][0]},{line.Box[2][1]}) crop {flush.Width}x{flush.Height} → {widened.Width}x{widened.Height}");
            }
        }

        output.WriteLine($"pipeline: {exact}/{total} lines exact = {(double)exact / total:P1}; CER {errors}/{characters} = {(double)errors / characters:P2}");
        Assert.True(exact >= 0.9 * total, $"{exact}/{total} lines exact");
    }

    // The reported bug: with the detector's boxes flush against the ink (unclip ratio 1.5), this page came out as
    // "Order44617shipped(6items)". PaddleOCR's inference unclip ratio (2.0) leaves the recognizer the margin it needs.
    [Theory]
    [InlineData("page-1.png")]
    [InlineData("page-1.jpg")]
    [InlineData("page-1.webp")]
    public void Words_on_a_page_keep_the_spaces_between_them(string page)
    {
        var lines = OcrModels.Read(models, page).Lines;

        Assert.Equal(models.LinesOf(page), lines.Select(l => l.Text.Trim()));
    }
}
