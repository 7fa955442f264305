using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Contracts.Jobs;
using Spectre.Console;

namespace Client.Cli;

public enum OutputFormat
{
    Table,
    Jsonl,
}

/// <summary>Renders finished files as a table or as JSON lines, and the one-line summary.</summary>
public static class ResultWriter
{
    private static readonly JsonSerializerOptions JsonLines = new(JsonSerializerDefaults.Web)
    {
        // Recognized text stays readable (accents, CJK) instead of \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>One JSON object per line: <c>{file, id, status, output, error, timings}</c>.</summary>
    public static void WriteJsonLines(TextWriter output, IEnumerable<FileResult> results)
    {
        foreach (var result in results)
        {
            output.WriteLine(ToJsonLine(result));
        }
        output.Flush();
    }

    public static string ToJsonLine(FileResult result) => JsonSerializer.Serialize(
        new JsonLine(result.File, result.Job?.Id, result.Status, result.Job?.Output, result.EffectiveError, result.Job?.Timings),
        JsonLines);

    /// <summary>A table: file, status, what was recognized (or the error), model version, total ms.</summary>
    public static void WriteTable(IAnsiConsole console, IEnumerable<FileResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("File")
            .AddColumn("Status")
            .AddColumn("Result")
            .AddColumn(new TableColumn("Version").RightAligned())
            .AddColumn(new TableColumn("Total ms").RightAligned());
        foreach (var result in results)
        {
            var status = result.Succeeded ? "[green]succeeded[/]" : $"[red]{Markup.Escape(result.Status)}[/]";
            var text = result.Succeeded
                ? Describe(result.Job!.Output)
                : result.EffectiveError is { } error ? $"{error.Code}: {error.Message}" : "";
            table.AddRow(
                new Text(result.File),
                new Markup(status),
                new Text(text),
                new Text(result.Job?.Version?.ToString(CultureInfo.InvariantCulture) ?? ""),
                new Text(result.Job?.Timings?.TotalMs is { } ms ? ms.ToString("0", CultureInfo.InvariantCulture) : ""));
        }
        console.Write(table);
    }

    /// <summary>The gist of an output for a table cell: the text, the lines, the top label with its score, or the box count.</summary>
    public static string Describe(JsonElement? output)
    {
        if (output is not { ValueKind: JsonValueKind.Object } o)
        {
            return output?.ToString() ?? "";
        }
        if (o.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
        {
            return o.TryGetProperty("confidence", out var confidence) && confidence.ValueKind == JsonValueKind.Number
                ? $"{text.GetString()} ({confidence.GetDouble().ToString("0.00", CultureInfo.InvariantCulture)})"
                : text.GetString() ?? "";
        }
        if (o.TryGetProperty("lines", out var lines) && lines.ValueKind == JsonValueKind.Array)
        {
            return string.Join(" / ", lines.EnumerateArray()
                .Select(l => l.ValueKind == JsonValueKind.Object && l.TryGetProperty("text", out var t) ? t.GetString() : null)
                .Where(t => !string.IsNullOrEmpty(t)));
        }
        if (o.TryGetProperty("labels", out var labels) && labels.ValueKind == JsonValueKind.Array)
        {
            var top = labels.EnumerateArray().FirstOrDefault();
            return top.ValueKind == JsonValueKind.Object
                ? $"{(top.TryGetProperty("label", out var label) ? label.ToString() : "?")} " +
                  (top.TryGetProperty("score", out var score) && score.ValueKind == JsonValueKind.Number
                      ? score.GetDouble().ToString("0.000", CultureInfo.InvariantCulture) : "")
                : "";
        }
        if (o.TryGetProperty("boxes", out var boxes) && boxes.ValueKind == JsonValueKind.Array)
        {
            var count = boxes.GetArrayLength();
            return count == 1 ? "1 box" : $"{count} boxes";
        }
        var raw = o.GetRawText();
        return raw.Length <= 80 ? raw : raw[..77] + "...";
    }

    /// <summary>E.g. "3 succeeded, 1 failed (4 files in 1.2 s)".</summary>
    public static string Summary(IReadOnlyCollection<FileResult> results, TimeSpan elapsed)
    {
        var counts = results.GroupBy(r => r.Status)
            .OrderBy(g => g.Key == "succeeded" ? 0 : 1).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key}");
        var files = results.Count == 1 ? "1 file" : $"{results.Count} files";
        return $"{string.Join(", ", counts)} ({files} in {elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s)";
    }

    private sealed record JsonLine(string File, string? Id, string Status, JsonElement? Output, JobError? Error, JobTimings? Timings);
}
