// ocr-rec on the rendered lines (scripts/render-ocr-fixtures.sh): what a user reading the output would count as errors.
using Contracts.Models;

namespace Engine.Tests.Inference;

public sealed class TextRecognitionAccuracyTests(OcrModels models, ITestOutputHelper output) : IClassFixture<OcrModels>
{
    private static readonly string[] Lines = [.. Enumerable.Range(1, 40).Select(i => $"line-{i:D3}.png")];

    [Fact]
    public void Rendered_lines_are_read_with_at_most_2_percent_character_errors_and_85_percent_exact()
    {
        var (errors, characters, exact) = (0, 0, 0);
        foreach (var file in Lines)
        {
            var expected = models.TextOf(file);
            var actual = OcrModels.RunImage<TextRecognitionOutput>(models.Recognizer, file).Text.Trim();
            var distance = TextDistance.Levenshtein(actual, expected);
            errors += distance;
            characters += expected.Length;
            exact += distance == 0 ? 1 : 0;
            output.WriteLine($"{file}  {(distance == 0 ? "ok " : $"d={distance}")}  [{actual}]{(distance == 0 ? "" : $"  expected [{expected}]")}");
        }

        var cer = (double)errors / characters;
        output.WriteLine($"CER {errors}/{characters} = {cer:P2}; exact lines {exact}/{Lines.Length} = {(double)exact / Lines.Length:P1}");
        Assert.True(cer <= 0.02, $"character error rate {cer:P2} is above 2%");
        Assert.True(exact >= 0.85 * Lines.Length, $"{exact}/{Lines.Length} lines exact, fewer than 85%");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    public void A_line_reads_the_same_from_png_jpeg_and_webp(int line)
    {
        var texts = new[] { "png", "jpg", "webp" }
            .Select(ext => OcrModels.RunImage<TextRecognitionOutput>(models.Recognizer, $"line-{line:D3}.{ext}").Text.Trim())
            .ToList();
        output.WriteLine(string.Join(" | ", texts));

        Assert.Equal(texts[0], texts[1]);
        Assert.Equal(texts[0], texts[2]);
    }
}
