using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Client.Cli;

/// <summary>
/// <c>usage [--from T] [--to T] [--granularity day|hour] [--format table|csv|json]</c>: the account's usage from the
/// gateway's ledger (<c>GET /v1/usage</c>), per day or hour and model, with the amount billed.
/// </summary>
public sealed class UsageCommand : Command
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public Option<DateTimeOffset?> From { get; } = new("--from")
    {
        Description = "Start (UTC unless an offset is given), e.g. 2026-12-01 or 2026-12-01T10:00:00Z (default: the first of this month)",
        HelpName = "TIME",
        CustomParser = result => ParseTime(result, "--from"),
    };

    public Option<DateTimeOffset?> To { get; } = new("--to")
    {
        Description = "End, exclusive (default: now)",
        HelpName = "TIME",
        CustomParser = result => ParseTime(result, "--to"),
    };

    public Option<string> Granularity { get; } = new("--granularity")
    {
        Description = "Sum per day or per hour (UTC)",
        DefaultValueFactory = _ => "day",
    };

    public Option<string> Format { get; } = new("--format")
    {
        Description = "table, csv or json",
        DefaultValueFactory = _ => "table",
    };

    public UsageCommand(CliConsole console) : base("usage", "Show the account's usage and what it costs, per day or hour and model")
    {
        var gateway = GatewayOption.Create();
        var apiKey = ApiKeyOption.Create();
        Granularity.AcceptOnlyFromAmong("day", "hour");
        Format.AcceptOnlyFromAmong("table", "csv", "json");
        Options.Add(gateway);
        Options.Add(apiKey);
        Options.Add(From);
        Options.Add(To);
        Options.Add(Granularity);
        Options.Add(Format);
        SetAction(async (parse, cancellationToken) =>
        {
            var now = DateTimeOffset.UtcNow;
            var from = parse.GetValue(From) ?? new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
            var to = parse.GetValue(To) ?? now;
            if (to <= from)
            {
                await console.Error.WriteLineAsync($"error: --to ({to:O}) must be after --from ({from:O}).");
                return ExitCodes.UsageOrConnection;
            }
            var uri = parse.GetValue(gateway)!;
            await using var client = new InferenceClient(uri, new InferenceClientOptions { ApiKey = parse.GetValue(apiKey) });
            var report = await GatewayOption.CallAsync(console, uri, () => client.GetUsageAsync(from, to, parse.GetValue(Granularity)!, cancellationToken));
            if (report is null)
            {
                return ExitCodes.UsageOrConnection;
            }
            switch (parse.GetValue(Format))
            {
                case "json":
                    await console.Out.WriteLineAsync(JsonSerializer.Serialize(report, Json));
                    break;
                case "csv":
                    await console.Out.WriteAsync(ToCsv(report));
                    break;
                default:
                    WriteTable(console.Ansi, report);
                    break;
            }
            return ExitCodes.Ok;
        });
    }

    /// <summary>One header line and one line per bucket and model; numbers in invariant culture, times in ISO 8601 UTC.</summary>
    public static string ToCsv(UsageReport report)
    {
        var csv = new StringBuilder("start,model,jobs,succeeded,failed,expired,cancelled,compute_seconds,input_bytes,amount,currency\n");
        foreach (var line in report.Lines)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{line.Start.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},{line.Model},{line.Jobs},{line.Succeeded},{line.Failed},{line.Expired},{line.Cancelled},{line.ComputeSeconds:0.######},{line.InputBytes},{line.Amount:0.######},{report.Currency}\n");
        }
        return csv.ToString();
    }

    private static void WriteTable(IAnsiConsole console, UsageReport report)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn(report.Granularity == "hour" ? "Hour (UTC)" : "Day (UTC)").AddColumn("Model")
            .AddColumn(new TableColumn("Jobs").RightAligned()).AddColumn(new TableColumn("Succeeded").RightAligned())
            .AddColumn(new TableColumn("Failed").RightAligned()).AddColumn(new TableColumn("Expired").RightAligned())
            .AddColumn(new TableColumn("Cancelled").RightAligned()).AddColumn(new TableColumn("Compute s").RightAligned())
            .AddColumn(new TableColumn($"Amount ({report.Currency})").RightAligned());
        foreach (var line in report.Lines)
        {
            table.AddRow(
                line.Start.UtcDateTime.ToString(report.Granularity == "hour" ? "yyyy-MM-dd HH:00" : "yyyy-MM-dd", CultureInfo.InvariantCulture),
                Markup.Escape(line.Model), N(line.Jobs), N(line.Succeeded), N(line.Failed), N(line.Expired), N(line.Cancelled),
                line.ComputeSeconds.ToString("0.###", CultureInfo.InvariantCulture), line.Amount.ToString("0.####", CultureInfo.InvariantCulture));
        }
        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.Jobs} jobs from {report.From.UtcDateTime:yyyy-MM-dd HH:mm} to {report.To.UtcDateTime:yyyy-MM-dd HH:mm} UTC: {report.Amount:0.####} {report.Currency}"));
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static DateTimeOffset? ParseTime(System.CommandLine.Parsing.ArgumentResult result, string name)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time))
        {
            return time;
        }
        result.AddError($"{name} needs a time such as 2026-12-01 or 2026-12-01T10:00:00Z, not '{text}'.");
        return null;
    }
}
