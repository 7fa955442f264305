// Upside-down text: ocr-cls tells it, and the pipeline turns it upright before reading.
using System.Text.Json;
using Contracts.Jobs;
using Contracts.Models;

namespace Engine.Tests.Inference;

public sealed class OrientationTests(OcrModels models, ITestOutputHelper output) : IClassFixture<OcrModels>
{
    private static readonly string RotatedDirectory = Path.Combine(OcrModels.FixtureDirectory, "..", "OcrRotated");

    // upside-down-1.png is a 626×54 serif line: squashed into one 192×48 input (PaddleOCR's rule) ocr-cls said "0"
    // (0.70); its manifest now reads a long line as overlapping 192 px windows (resize overflow "windows"): 180.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void The_orientation_classifier_says_180_for_an_upside_down_line_and_0_for_its_original(int n)
    {
        var file = $"upside-down-{n}.png";
        var source = models.Truth[file].GetProperty("source").GetString()!;

        var flipped = OcrModels.RunImage<ClassificationOutput>(models.Classifier, file).Labels[0];
        var upright = OcrModels.RunImage<ClassificationOutput>(models.Classifier, source).Labels[0];

        output.WriteLine($"{file}: {flipped.Label} {flipped.Score:F3}; {source}: {upright.Label} {upright.Score:F3}");
        Assert.Equal("180", flipped.Label);
        Assert.Equal("0", upright.Label);
    }

    // upside-down-2.png was detected as two boxes ("Energy a" and the rest): pipeline.mergeSplitLines joins them.
    // upside-down-4.png read "cll+1" for "call +1" with the crop widened into the image by 0.4 × the line height.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void The_pipeline_reads_an_upside_down_line_upright(int n)
    {
        var file = $"upside-down-{n}.png";

        var line = Assert.Single(OcrModels.Read(models, file).Lines);

        output.WriteLine($"{file}: [{line.Text}] angle {line.Angle}");
        Assert.Equal(180, line.Angle);
        Assert.Equal(models.TextOf(file), line.Text.Trim());
    }

    // The turned page's middle line read "Travel wekly paper window table!" while the recognizer got the box widened
    // by 0.4 × its height on every side (the detector's boxes on the turned page are 36 px high where the upright
    // page's are 30, so that crop shrank its text more); it reads right with the smaller margin above and below.
    [Fact]
    public void The_pipeline_reads_every_line_of_an_upside_down_page()
    {
        // scripts/render-rotated-ocr-fixtures.sh: page-1.png turned 180°. Its lines come out in the image's order,
        // which is the page's last line first.
        var expected = models.LinesOf("page-1.png").Reverse().ToArray();
        var bytes = File.ReadAllBytes(Path.Combine(RotatedDirectory, "page-1-upside-down.png"));

        var result = models.Pipeline.Run([new Engine.Inference.JobInput("p", InputKinds.Image, bytes)])[0];
        var lines = result.Output!.Value.Deserialize<OcrOutput>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!.Lines;

        foreach (var line in lines)
        {
            output.WriteLine($"[{line.Text}] angle {line.Angle}");
        }

        Assert.Equal(expected, lines.Select(l => l.Text.Trim()));
        Assert.All(lines, l => Assert.Equal(180, l.Angle));
    }
}
