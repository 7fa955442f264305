using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Client.Bench;

namespace Client.Cli;

/// <summary>
/// <c>bench connections -n 10000 --gateway-pid PID</c>: connection capacity of one gateway — many concurrent idle hub
/// connections, the gateway's resident memory, and push latency while they are all connected.
/// </summary>
public sealed class BenchConnectionsCommand : Command
{
    public BenchConnectionsCommand(CliConsole console) : base("connections", "Hold many idle SignalR connections to one gateway; report its memory and push latency meanwhile")
    {
        Add(Connections);
        Add(Gateway);
        Add(ApiKey);
        Add(Protocol);
        Add(Model);
        Add(Input);
        Add(Senders);
        Add(Duration);
        Add(Settle);
        Add(GatewayPid);
        Add(EveryConnection);
        Add(JsonOut);
        SetAction((parse, cancellationToken) => RunAsync(parse, console, cancellationToken));
    }

    public Option<int> Connections { get; } = new("--connections", "-n")
    {
        Description = "Concurrent hub connections to open and keep open",
        DefaultValueFactory = _ => 10_000,
        HelpName = "N",
        Validators = { r => { if (r.GetValueOrDefault<int>() is < 1 or > 100_000) r.AddError("--connections is from 1 to 100000."); } },
    };

    public Option<Uri> Gateway { get; } = GatewayOption.Create();

    public Option<string?> ApiKey { get; } = ApiKeyOption.Create();

    public Option<HubProtocol> Protocol { get; } = ProtocolOption.Create();

    public Option<string> Model { get; } = new("--model", "-m") { Description = "Model the senders submit to", DefaultValueFactory = _ => "ocr-cls", HelpName = "NAME" };

    public Option<FileInfo> Input { get; } = new("--input", "-i") { Description = "Image the senders submit", Required = true, HelpName = "FILE" };

    public Option<int> Senders { get; } = new("--senders", "-s")
    {
        Description = "Connections (spread over the set) that submit jobs one after another while all are connected",
        DefaultValueFactory = _ => 4,
        HelpName = "N",
    };

    public Option<double> Duration { get; } = new("--duration", "-d") { Description = "Seconds of push-latency measurement", DefaultValueFactory = _ => 20, HelpName = "S" };

    public Option<double> Settle { get; } = new("--settle") { Description = "Seconds idle after connecting, before the memory sample", DefaultValueFactory = _ => 10, HelpName = "S" };

    public Option<int?> GatewayPid { get; } = new("--gateway-pid") { Description = "Process id of the gateway (same machine), to sample its memory from /proc", HelpName = "PID" };

    public Option<bool> EveryConnection { get; } = new("--every-connection-submits")
    {
        Description = "At the end every connection submits one job: proves each still gets its push",
    };

    public Option<FileInfo?> JsonOut { get; } = new("--json") { Description = "Write the report as JSON here", HelpName = "FILE" };

    public ConnectionsSettings Settings(ParseResult parse, byte[] input) => new(
        parse.GetValue(Gateway)!,
        parse.GetValue(Connections),
        parse.GetValue(Model)!,
        input,
        parse.GetValue(Senders),
        TimeSpan.FromSeconds(parse.GetValue(Duration)),
        TimeSpan.FromSeconds(parse.GetValue(Settle)),
        parse.GetValue(GatewayPid),
        parse.GetValue(EveryConnection),
        parse.GetValue(Protocol),
        ApiKey: parse.GetValue(ApiKey));

    private async Task<int> RunAsync(ParseResult parse, CliConsole console, CancellationToken cancellationToken)
    {
        var file = parse.GetValue(Input)!;
        if (!file.Exists)
        {
            await console.Error.WriteLineAsync($"error: {file.FullName} does not exist");
            return ExitCodes.UsageOrConnection;
        }
        var settings = Settings(parse, await File.ReadAllBytesAsync(file.FullName, cancellationToken));
        var run = new ConnectionsRun(settings, line => console.Error.WriteLine($"[connections {DateTime.UtcNow:HH:mm:ss}] {line}"));
        ConnectionsReport report;
        try
        {
            report = await run.RunAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("interrupted");
            return ExitCodes.Interrupted;
        }
        if (parse.GetValue(JsonOut) is { } json)
        {
            await File.WriteAllTextAsync(json.FullName, JsonSerializer.Serialize(report, BenchReportWriter.Json), CancellationToken.None);
        }
        await console.Out.WriteLineAsync(Summary(report));
        var allPushed = report.EveryConnectionPushed is not { } pushed || pushed == report.Connected;
        return report.Connected == report.ConnectionsWanted && report.PushErrors.Count == 0 && allPushed ? ExitCodes.Ok : ExitCodes.JobsFailed;
    }

    public static string Summary(ConnectionsReport r)
    {
        static string M(double? v) => v is { } x ? x.ToString("0", CultureInfo.InvariantCulture) + " MiB" : "n/a";
        var l = r.PushLatency;
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"connections: {r.Connected} of {r.ConnectionsWanted} open in {r.ConnectSeconds:0.0} s (fd limit {r.FileLimit?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}); {r.StillConnected} still open at the end"),
            $"gateway RSS: {M(r.GatewayRssBeforeMiB)} before · {M(r.GatewayRssIdleMiB)} with {r.Connected} idle connections · {M(r.GatewayRssUnderLoadMiB)} max while pushing · peak (VmHWM) {M(r.GatewayRssPeakMiB)}; open files {r.GatewayOpenFiles?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}",
            string.Create(CultureInfo.InvariantCulture, $"push latency ({r.Senders} senders, {r.PushSeconds:0} s, {r.Model}): {r.PushSucceeded} jobs · p50 {l.P50:0.##} ms · p90 {l.P90:0.##} ms · p99 {l.P99:0.##} ms · max {l.Max:0.##} ms"),
        };
        if (r.EveryConnectionPushed is { } pushed)
        {
            var e = r.EveryConnectionLatency!;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"every connection submitted one job: {pushed} of {r.Connected} pushed back · p50 {e.P50:0.##} ms · p99 {e.P99:0.##} ms"));
        }
        foreach (var (code, count) in r.ConnectErrors)
        {
            lines.Add($"connect error {code}: {count}");
        }
        foreach (var (code, count) in r.PushErrors.Concat(r.EveryConnectionErrors))
        {
            lines.Add($"job error {code}: {count}");
        }
        lines.Add($"client RSS: {M(r.ClientRssMiB)}");
        return string.Join(Environment.NewLine, lines);
    }
}
