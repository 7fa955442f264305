using System.Globalization;
using AppHost.Hosting;
using Microsoft.AspNetCore.SignalR;
using RabbitMQ.Client;
using StackExchange.Redis;

namespace AppHost.Dashboard;

/// <summary>A worker replica as its Redis heartbeat describes it.</summary>
internal sealed record WorkerStatus(string Models, long InFlight, long Batches, long Jobs, long Succeeded, long Failed, double MeanBatchSize, bool Ready);

/// <summary>One point of the live charts.</summary>
internal sealed record MetricsSample(
    DateTimeOffset At,
    double SucceededPerSecond,
    double FailedPerSecond,
    double AcceptedPerSecond,
    IReadOnlyDictionary<string, long> QueueDepth,
    double MeanBatchSize,
    long InFlight,
    LatencySummary? QueueWait,
    LatencySummary? Compute,
    IReadOnlyDictionary<string, double> BatchSizes);

/// <summary>Percentiles in milliseconds over the last sample interval.</summary>
internal sealed record LatencySummary(double P50, double P95, double P99);

/// <summary>
/// Samples what the page charts: worker heartbeats from Redis, queue depths from RabbitMQ
/// (passive declares) and the services' Prometheus <c>/metrics</c>, and pushes each sample.
/// </summary>
internal sealed class DashboardSampler(
    DistributedApplication app,
    DashboardOptions options,
    IHubContext<DashboardHub> hub,
    ILogger<DashboardSampler> log) : BackgroundService
{
    private const int HistoryLength = 120;

    private readonly object _gate = new();
    private readonly List<MetricsSample> _history = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private Dictionary<string, WorkerStatus> _workers = new(StringComparer.Ordinal);
    private Dictionary<string, (long Succeeded, long Failed)> _previousCounts = new(StringComparer.Ordinal);
    private PrometheusTotals? _previousScrape;
    private ConnectionMultiplexer? _redis;
    private IConnection? _rabbit;

    public IReadOnlyDictionary<string, WorkerStatus> Workers
    {
        get
        {
            lock (_gate)
            {
                return _workers;
            }
        }
    }

    public IReadOnlyList<MetricsSample> History
    {
        get
        {
            lock (_gate)
            {
                return _history.ToList();
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SampleInterval);
        var last = DateTimeOffset.UtcNow;
        do
        {
            try
            {
                var now = DateTimeOffset.UtcNow;
                var seconds = Math.Max((now - last).TotalSeconds, 0.001);
                last = now;
                await SampleAsync(now, seconds, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogDebug(e, "Dashboard sample failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public override void Dispose()
    {
        _http.Dispose();
        _redis?.Dispose();
        _rabbit?.Dispose();
        base.Dispose();
    }

    private async Task SampleAsync(DateTimeOffset now, double seconds, CancellationToken token)
    {
        var workers = await ReadHeartbeatsAsync();
        var succeeded = 0L;
        var failed = 0L;
        var counts = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var (name, w) in workers)
        {
            counts[name] = (w.Succeeded, w.Failed);
            // A restarted worker starts its counters again from zero: count only what grew.
            var (s0, f0) = _previousCounts.GetValueOrDefault(name, (w.Succeeded, w.Failed));
            succeeded += Math.Max(0, w.Succeeded - (w.Succeeded >= s0 ? s0 : 0));
            failed += Math.Max(0, w.Failed - (w.Failed >= f0 ? f0 : 0));
        }
        _previousCounts = counts;

        var models = workers.Values
            .SelectMany(w => w.Models.Split(',', StringSplitOptions.RemoveEmptyEntries))
            .Select(m => m.Split(':')[0])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
        var depth = await ReadQueueDepthsAsync(models, token);

        var scrape = await ScrapeAsync(token);
        var delta = scrape.Minus(_previousScrape);
        _previousScrape = scrape;

        var busy = workers.Values.Where(w => w.Jobs > 0).ToList();
        var sample = new MetricsSample(
            now,
            succeeded / seconds,
            failed / seconds,
            delta.Accepted / seconds,
            depth,
            busy.Count == 0 ? 0 : busy.Average(w => w.MeanBatchSize),
            workers.Values.Sum(w => w.InFlight),
            delta.QueueWait.Summarize(),
            delta.Compute.Summarize(),
            delta.BatchSizes.Distribution());
        lock (_gate)
        {
            _workers = workers;
            _history.Add(sample);
            if (_history.Count > HistoryLength)
            {
                _history.RemoveAt(0);
            }
        }
        await hub.Clients.All.SendAsync("sample", workers, sample, token);
    }

    private async Task<Dictionary<string, WorkerStatus>> ReadHeartbeatsAsync()
    {
        var result = new Dictionary<string, WorkerStatus>(StringComparer.Ordinal);
        if (app.GetConnectionString("cache") is not { } cache)
        {
            return result;
        }
        _redis ??= await ConnectionMultiplexer.ConnectAsync($"{cache},abortConnect=false,connectTimeout=2000");
        if (!_redis.IsConnected)
        {
            return result;
        }
        var db = _redis.GetDatabase();
        // The workers' registry set, not a keyspace scan (the keyspace holds every job record).
        foreach (var key in await db.SetMembersAsync(Contracts.RedisKeys.Workers))
        {
            var entries = await db.HashGetAllAsync((string)key!);
            if (entries.Length == 0)
            {
                continue; // expired: that worker is gone
            }
            var fields = entries.ToDictionary(e => (string)e.Name!, e => (string?)e.Value ?? "", StringComparer.Ordinal);
            var instance = fields.GetValueOrDefault("instance") ?? ((string)key!)["worker:".Length..];
            result[instance] = new WorkerStatus(
                fields.GetValueOrDefault("models") ?? "",
                Long(fields, "inFlight"),
                Long(fields, "batches"),
                Long(fields, "jobs"),
                Long(fields, "succeeded"),
                Long(fields, "failed"),
                double.TryParse(fields.GetValueOrDefault("meanBatchSize"), CultureInfo.InvariantCulture, out var mean) ? mean : 0,
                fields.GetValueOrDefault("ready") == "1");
        }
        return result;
    }

    private async Task<Dictionary<string, long>> ReadQueueDepthsAsync(List<string> models, CancellationToken token)
    {
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        if (models.Count == 0 || app.GetConnectionString("messaging") is not { } messaging)
        {
            return depths;
        }
        if (_rabbit is not { IsOpen: true })
        {
            _rabbit?.Dispose();
            _rabbit = await new ConnectionFactory { Uri = new Uri(messaging), ClientProvidedName = "apphost-dashboard" }.CreateConnectionAsync(token);
        }
        foreach (var model in models)
        {
            // A passive declare of a missing queue closes the channel: one channel per question.
            await using var channel = await _rabbit.CreateChannelAsync(cancellationToken: token);
            try
            {
                var ok = await channel.QueueDeclarePassiveAsync(Contracts.Jobs.JobQueues.ForModel(model), token);
                depths[model] = ok.MessageCount;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // The queue does not exist yet: no job for this model was ever published.
            }
        }
        return depths;
    }

    private async Task<PrometheusTotals> ScrapeAsync(CancellationToken token)
    {
        var totals = new PrometheusTotals();
        var projects = app.Resources.OfType<ProjectResource>().SelectMany(r => r.HttpEndpoints);
        foreach (var endpoint in projects)
        {
            try
            {
                var text = await _http.GetStringAsync($"{endpoint}/metrics", token);
                totals.Add(PrometheusText.Parse(text));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or FormatException)
            {
                // A replica that is restarting (or has no /metrics) is skipped for this sample.
            }
        }
        return totals;
    }

    private static long Long(Dictionary<string, string> fields, string name) =>
        long.TryParse(fields.GetValueOrDefault(name), CultureInfo.InvariantCulture, out var value) ? value : 0;
}
