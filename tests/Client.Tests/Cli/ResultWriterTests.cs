using System.Text.Json;
using Client.Cli;
using Contracts.Jobs;

namespace Client.Tests.Cli;

public sealed class ResultWriterTests
{
    private static JobRecord Succeeded(string id, string output) => new()
    {
        Id = id,
        Model = "ocr-rec",
        Version = 3,
        Status = JobStatus.Succeeded,
        Output = JsonDocument.Parse(output).RootElement.Clone(),
        Timings = new JobTimings(12.5, 20.25, 41.6, 4),
        Attempts = 1,
    };

    private static readonly JobRecord FailedJob = new()
    {
        Id = "f00",
        Model = "ocr-rec",
        Version = 3,
        Status = JobStatus.Failed,
        Error = new JobError("invalid_input", "The image could not be decoded."),
        Attempts = 1,
    };

    [Fact]
    public void Json_line_carries_file_id_status_output_error_and_timings()
    {
        var line = ResultWriter.ToJsonLine(new FileResult("line-001.png", Succeeded("abc", """{"text":"Meeting déjà 会议","confidence":0.99}""")));

        Assert.DoesNotContain('\n', line);
        Assert.Contains("déjà 会议", line); // readable, not \u-escaped
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        Assert.Equal("line-001.png", root.GetProperty("file").GetString());
        Assert.Equal("abc", root.GetProperty("id").GetString());
        Assert.Equal("succeeded", root.GetProperty("status").GetString());
        Assert.Equal("Meeting déjà 会议", root.GetProperty("output").GetProperty("text").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal(41.6, root.GetProperty("timings").GetProperty("totalMs").GetDouble());
        Assert.Equal(4, root.GetProperty("timings").GetProperty("batchSize").GetInt32());
    }

    [Fact]
    public void Json_lines_of_failed_and_refused_files_carry_the_error_code()
    {
        var output = new StringWriter();

        ResultWriter.WriteJsonLines(output, [
            new FileResult("bad.png", FailedJob),
            new FileResult("huge.png", null, new JobError("payload_too_large", "The body is over the limit.")),
        ]);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(("failed", "invalid_input"), (lines[0].GetProperty("status").GetString(), lines[0].GetProperty("error").GetProperty("code").GetString()));
        Assert.Equal(JsonValueKind.Null, lines[1].GetProperty("id").ValueKind);
        Assert.Equal(("failed", "payload_too_large"), (lines[1].GetProperty("status").GetString(), lines[1].GetProperty("error").GetProperty("code").GetString()));
    }

    [Fact]
    public void Table_shows_file_status_text_version_and_total_ms()
    {
        var output = new StringWriter();
        var console = CliConsole.Plain(output, TextWriter.Null);

        ResultWriter.WriteTable(console.Ansi, [
            new FileResult("line-001.png", Succeeded("a", """{"text":"Invoice #5235-605: $8,049.44","confidence":0.96}""")),
            new FileResult("bad.png", FailedJob),
        ]);

        var rows = output.ToString().Split('\n');
        var first = Assert.Single(rows, r => r.Contains("line-001.png"));
        Assert.Contains("succeeded", first);
        Assert.Contains("Invoice #5235-605: $8,049.44 (0.96)", first);
        Assert.Contains("│       3 │", first);
        Assert.Contains("42", first);
        var second = Assert.Single(rows, r => r.Contains("bad.png"));
        Assert.Contains("failed", second);
        Assert.Contains("invalid_input: The image could not be decoded.", second);
        Assert.DoesNotContain("\u001b[", output.ToString());
    }

    [Theory]
    [InlineData("""{"text":"hello","confidence":0.5}""", "hello (0.50)")]
    [InlineData("""{"lines":[{"text":"one","confidence":0.9,"box":[],"angle":0},{"text":"two","confidence":0.8,"box":[],"angle":180}]}""", "one / two")]
    [InlineData("""{"labels":[{"label":"180","index":1,"score":0.9731},{"label":"0","index":0,"score":0.0269}]}""", "180 0.973")]
    [InlineData("""{"boxes":[[0,0,1,1],[2,2,3,3]]}""", "2 boxes")]
    [InlineData("""{"boxes":[[0,0,1,1]]}""", "1 box")]
    [InlineData("""{"other":1}""", """{"other":1}""")]
    public void Describe_gives_the_gist_of_each_output_kind(string output, string expected) =>
        Assert.Equal(expected, ResultWriter.Describe(JsonDocument.Parse(output).RootElement));

    [Fact]
    public void Summary_counts_each_status_succeeded_first()
    {
        var summary = ResultWriter.Summary(
            [new FileResult("a", Succeeded("1", "{}")), new FileResult("b", FailedJob), new FileResult("c", Succeeded("2", "{}"))],
            TimeSpan.FromSeconds(1.24));

        Assert.Equal("2 succeeded, 1 failed (3 files in 1.2 s)", summary);
    }
}
