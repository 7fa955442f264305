using System.Diagnostics;
using System.Globalization;
using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR.Client;

namespace Client.Bench;

/// <summary>What one <c>bench connections</c> run does.</summary>
public sealed record ConnectionsSettings(
    Uri Gateway,
    int Connections,
    string Model,
    byte[] Input,
    int Senders,
    TimeSpan Duration,
    TimeSpan Settle,
    int? GatewayPid,
    bool EveryConnectionSubmits,
    HubProtocol Protocol = HubProtocol.MessagePack,
    int ConnectConcurrency = 64,
    double JobTimeoutSeconds = 60,
    int SubmitConcurrency = 256,
    string? ApiKey = null);

/// <summary>The outcome of a connection-capacity run: memory of the gateway at each step, push latency while connected.</summary>
public sealed record ConnectionsReport
{
    public required string Gateway { get; init; }

    public required string Model { get; init; }

    public int? GatewayPid { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public int ConnectionsWanted { get; init; }

    public int Connected { get; init; }

    public required IReadOnlyDictionary<string, long> ConnectErrors { get; init; }

    public double ConnectSeconds { get; init; }

    /// <summary>RLIMIT_NOFILE of this process after raising the soft limit (null when not on Linux).</summary>
    public long? FileLimit { get; init; }

    /// <summary>Gateway resident memory before any of our connections, in MiB (null without a pid).</summary>
    public double? GatewayRssBeforeMiB { get; init; }

    /// <summary>Gateway resident memory with every connection open and idle (after the settle time).</summary>
    public double? GatewayRssIdleMiB { get; init; }

    /// <summary>Highest gateway resident memory sampled while jobs were pushed with every connection open.</summary>
    public double? GatewayRssUnderLoadMiB { get; init; }

    /// <summary>The kernel's high-water mark of the gateway's resident memory (VmHWM) at the end.</summary>
    public double? GatewayRssPeakMiB { get; init; }

    /// <summary>Open file descriptors of the gateway with every connection open.</summary>
    public int? GatewayOpenFiles { get; init; }

    public double ClientRssMiB { get; init; }

    public int Senders { get; init; }

    public double PushSeconds { get; init; }

    /// <summary>Jobs submitted by the senders and pushed back as succeeded, and their latency from submit to the terminal push.</summary>
    public long PushSucceeded { get; init; }

    public required IReadOnlyDictionary<string, long> PushErrors { get; init; }

    public required LatencySummary PushLatency { get; init; }

    /// <summary>When every connection submitted one job: how many got their result pushed (null when not asked).</summary>
    public long? EveryConnectionPushed { get; init; }

    public required IReadOnlyDictionary<string, long> EveryConnectionErrors { get; init; }

    public LatencySummary? EveryConnectionLatency { get; init; }

    /// <summary>Connections still open at the end (none dropped by the server while idle).</summary>
    public int StillConnected { get; init; }
}

/// <summary>
/// Connection capacity: opens many concurrent idle hub connections to one gateway, keeps them open, then measures push
/// latency (a few of them submit jobs; time from submit to the pushed result) and samples the gateway's resident memory
/// from <c>/proc/{pid}/status</c> before, idle and under load. Optionally every connection submits one job, proving
/// each one still receives its push.
/// </summary>
public sealed class ConnectionsRun(ConnectionsSettings settings, Action<string> progress)
{
    public async Task<ConnectionsReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var fileLimit = FileDescriptorLimit.RaiseTo(settings.Connections + 512);
        var rssBefore = ProcessMemory.ResidentMiB(settings.GatewayPid);

        // One socket per client: the WebSocket connects without a negotiate request, and no REST call is made.
        var options = new InferenceClientOptions
        {
            RequestTimeout = TimeSpan.FromSeconds(settings.JobTimeoutSeconds),
            ReconnectDelays = [],
            Protocol = settings.Protocol,
            ApiKey = settings.ApiKey,
        };
        var clients = new InferenceClient?[settings.Connections];
        var connectErrors = new ErrorCounts();
        var connectWatch = Stopwatch.StartNew();
        var opened = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, settings.Connections),
            new ParallelOptions { MaxDegreeOfParallelism = settings.ConnectConcurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    clients[i] = await InferenceClient.ConnectAsync(settings.Gateway, options, ct);
                    if (Interlocked.Increment(ref opened) % 1000 == 0)
                    {
                        progress(string.Create(CultureInfo.InvariantCulture, $"{opened} connections open ({connectWatch.Elapsed.TotalSeconds:0.0} s)"));
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    connectErrors.Add(BenchRun.ErrorCode(e));
                }
            });
        var connectSeconds = connectWatch.Elapsed.TotalSeconds;
        var open = clients.OfType<InferenceClient>().ToList();
        progress(string.Create(CultureInfo.InvariantCulture, $"{open.Count} of {settings.Connections} connections open in {connectSeconds:0.0} s; idle for {settings.Settle.TotalSeconds:0} s"));

        try
        {
            await Task.Delay(settings.Settle, cancellationToken);
            var rssIdle = ProcessMemory.ResidentMiB(settings.GatewayPid);
            var openFiles = ProcessMemory.OpenFiles(settings.GatewayPid);
            progress($"gateway RSS {Mib(rssBefore)} MiB before, {Mib(rssIdle)} MiB with {open.Count} idle connections ({openFiles?.ToString(CultureInfo.InvariantCulture) ?? "?"} open files)");

            // Push latency with everything connected: a few senders spread over the set, closed loop.
            var latency = new LatencyHistogram();
            var pushErrors = new ErrorCounts();
            long pushed = 0;
            double rssLoad = rssIdle ?? 0;
            using (var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var sampler = SampleAsync(v => rssLoad = Math.Max(rssLoad, v), sampling.Token);
                var end = Stopwatch.StartNew();
                var senders = Enumerable.Range(0, Math.Min(settings.Senders, open.Count))
                    .Select(s => open[(int)((long)s * open.Count / Math.Max(1, settings.Senders))])
                    .Select(client => Task.Run(async () =>
                    {
                        while (end.Elapsed < settings.Duration && !cancellationToken.IsCancellationRequested)
                        {
                            var (error, took) = await OneJobAsync(client, cancellationToken);
                            if (error is null)
                            {
                                Interlocked.Increment(ref pushed);
                                lock (latency)
                                {
                                    latency.Record(took);
                                }
                            }
                            else
                            {
                                pushErrors.Add(error);
                            }
                        }
                    }, cancellationToken)).ToList();
                await Task.WhenAll(senders);
                await sampling.CancelAsync();
                await sampler;
            }
            var pushSummary = LatencySummary.From(latency);
            progress(string.Create(CultureInfo.InvariantCulture,
                $"push latency with {open.Count} connections: {pushed} jobs, p50 {pushSummary.P50:0.##} ms, p99 {pushSummary.P99:0.##} ms; gateway RSS up to {Mib(rssLoad)} MiB"));

            long? everyPushed = null;
            var everyErrors = new ErrorCounts();
            LatencySummary? everyLatency = null;
            if (settings.EveryConnectionSubmits)
            {
                var all = new LatencyHistogram();
                long count = 0;
                await Parallel.ForEachAsync(open, new ParallelOptions { MaxDegreeOfParallelism = settings.SubmitConcurrency, CancellationToken = cancellationToken }, async (client, ct) =>
                {
                    var (error, took) = await OneJobAsync(client, ct);
                    if (error is null)
                    {
                        Interlocked.Increment(ref count);
                        lock (all)
                        {
                            all.Record(took);
                        }
                    }
                    else
                    {
                        everyErrors.Add(error);
                    }
                });
                rssLoad = Math.Max(rssLoad, ProcessMemory.ResidentMiB(settings.GatewayPid) ?? 0);
                everyPushed = count;
                everyLatency = LatencySummary.From(all);
                progress($"every connection submitted one job: {count} of {open.Count} pushed back");
            }

            return new ConnectionsReport
            {
                Gateway = settings.Gateway.ToString(),
                Model = settings.Model,
                GatewayPid = settings.GatewayPid,
                StartedAt = startedAt,
                ConnectionsWanted = settings.Connections,
                Connected = open.Count,
                ConnectErrors = connectErrors.Snapshot(),
                ConnectSeconds = connectSeconds,
                FileLimit = fileLimit,
                GatewayRssBeforeMiB = rssBefore,
                GatewayRssIdleMiB = rssIdle,
                GatewayRssUnderLoadMiB = settings.GatewayPid is null ? null : rssLoad,
                GatewayRssPeakMiB = ProcessMemory.PeakResidentMiB(settings.GatewayPid),
                GatewayOpenFiles = openFiles,
                ClientRssMiB = Environment.WorkingSet / 1048576.0,
                Senders = settings.Senders,
                PushSeconds = settings.Duration.TotalSeconds,
                PushSucceeded = pushed,
                PushErrors = pushErrors.Snapshot(),
                PushLatency = pushSummary,
                EveryConnectionPushed = everyPushed,
                EveryConnectionErrors = everyErrors.Snapshot(),
                EveryConnectionLatency = everyLatency,
                StillConnected = open.Count(c => c.State == HubConnectionState.Connected),
            };
        }
        finally
        {
            progress("closing connections");
            await Parallel.ForEachAsync(open, new ParallelOptions { MaxDegreeOfParallelism = 256 }, async (client, _) => await client.DisposeAsync());
        }
    }

    private async Task<(string? Error, TimeSpan Took)> OneJobAsync(InferenceClient client, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            var id = await client.SubmitAsync(settings.Model, settings.Input, new SubmitOptions(TimeoutSeconds: settings.JobTimeoutSeconds), cancellationToken);
            var record = await client.WaitAsync(id, TimeSpan.FromSeconds(settings.JobTimeoutSeconds), cancellationToken);
            return (record.Status == JobStatus.Succeeded ? null : record.Error?.Code ?? record.Status.ToString().ToLowerInvariant(), watch.Elapsed);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return (BenchRun.ErrorCode(e), watch.Elapsed);
        }
    }

    private async Task SampleAsync(Action<double> sample, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (ProcessMemory.ResidentMiB(settings.GatewayPid) is { } rss)
            {
                sample(rss);
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static string Mib(double? value) => value is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "?";

    private sealed class ErrorCounts
    {
        private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);

        public void Add(string code)
        {
            lock (_counts)
            {
                _counts[code] = _counts.GetValueOrDefault(code) + 1;
            }
        }

        public IReadOnlyDictionary<string, long> Snapshot()
        {
            lock (_counts)
            {
                return new SortedDictionary<string, long>(_counts, StringComparer.Ordinal);
            }
        }
    }
}
