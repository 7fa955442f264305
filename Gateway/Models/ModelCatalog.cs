using System.Globalization;
using System.Text.Json;
using Contracts;
using Contracts.Models;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Gateway.Models;

/// <summary>A model the gateway accepts jobs for: its valid versions and the manifest of the newest.</summary>
/// <param name="Desired">The version ModelSync rolls workers to (pinned or latest valid), when set.</param>
public sealed record ModelInfo(string Name, string Task, IReadOnlyList<int> Versions, JsonElement Manifest, int? Desired = null)
{
    public int LatestVersion => Versions[^1];

    public bool TakesImages => Task is not "tensor";
}

/// <summary>
/// The models as ModelSync publishes them in Redis, re-read every <see cref="RefreshInterval"/>: a model exists when it has
/// a version ModelSync found valid (its manifest stored beside the verdict). The gateway never reads the bucket itself, so
/// it needs neither bucket access nor credentials, and it agrees with ModelSync and the workers on which models exist.
/// </summary>
/// <para>
/// Each refresh also reads the workers' heartbeats and notes since when no live worker has served each model, so a job for
/// a model nobody serves can be refused (<c>503 model_unavailable</c>) instead of waiting out its deadline.
/// </para>
public sealed partial class ModelCatalog(IConnectionMultiplexer redis, TimeProvider time, ILogger<ModelCatalog> log) : BackgroundService
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(2);
    private volatile IReadOnlyDictionary<string, ModelInfo> _models = new Dictionary<string, ModelInfo>();
    private volatile IReadOnlyDictionary<string, (DateTimeOffset Since, string Reason)> _unserved = new Dictionary<string, (DateTimeOffset, string)>();

    public IReadOnlyCollection<ModelInfo> All => _models.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

    /// <summary>Whether ModelSync has finished a pass over the bucket, so the list is known (possibly empty).</summary>
    public bool IsSynced { get; private set; }

    public bool TryGet(string name, out ModelInfo model) => _models.TryGetValue(name, out model!);

    public static bool IsValidName(string name) => ModelNames.IsValid(name);

    public async Task RefreshAsync()
    {
        var db = redis.GetDatabase();
        var synced = db.KeyExistsAsync(RedisKeys.ModelsSynced);
        var names = (await db.SetMembersAsync(RedisKeys.Models)).Select(v => (string)v!).Where(IsValidName).ToList();
        var reads = names.Select(name => (
            Name: name,
            Versions: db.HashGetAllAsync(RedisKeys.ModelVersions(name)),
            Manifests: db.HashGetAllAsync(RedisKeys.ModelManifests(name)),
            Desired: db.StringGetAsync(RedisKeys.ModelDesired(name)))).ToList();
        var models = new Dictionary<string, ModelInfo>(StringComparer.Ordinal);
        foreach (var read in reads)
        {
            var valid = (await read.Versions)
                .Where(e => IsValidVerdict((string?)e.Value))
                .Select(e => (string)e.Name!)
                .ToHashSet(StringComparer.Ordinal);
            var manifests = (await read.Manifests)
                .Where(e => valid.Contains((string)e.Name!))
                .Select(e => (Version: int.Parse((string)e.Name!, CultureInfo.InvariantCulture), Json: (string)e.Value!))
                .OrderBy(e => e.Version)
                .ToList();
            var desiredValue = await read.Desired;
            if (manifests.Count == 0 || TryParse(manifests[^1].Json) is not { } manifest)
            {
                continue;
            }

            var task = manifest.TryGetProperty("task", out var t) ? t.GetString() ?? "tensor" : "tensor";
            int? desired = desiredValue.HasValue && int.TryParse((string)desiredValue!, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : null;
            models[read.Name] = new ModelInfo(read.Name, task, [.. manifests.Select(m => m.Version)], manifest, desired);
        }

        var workers = await WorkerDirectory.ReadAsync(redis);
        var now = time.GetUtcNow();
        var previous = _unserved;
        var unserved = new Dictionary<string, (DateTimeOffset, string)>(StringComparer.Ordinal);
        foreach (var model in models.Values)
        {
            if (UnavailableReason(model.Name, model.Desired, workers, anyReady: false) is { } reason)
            {
                unserved[model.Name] = (previous.TryGetValue(model.Name, out var seen) ? seen.Since : now, reason);
            }
        }

        _models = models;
        _unserved = unserved;
        IsSynced = await synced;
    }

    /// <summary>How long no live worker has served <paramref name="model"/> and why, as of the last refresh; null while one does.</summary>
    public (TimeSpan For, string Reason)? Unserved(string model) =>
        _unserved.TryGetValue(model, out var unserved) ? (time.GetUtcNow() - unserved.Since, unserved.Reason) : null;

    /// <summary>
    /// A fresh read of the heartbeats found <paramref name="model"/> served: its clock of going unserved stops now, not at
    /// the next refresh (else a model shown ready by <c>GET /v1/models</c> and stopped again within a refresh interval would
    /// be refused as if it had been unserved all along). A refresh that read the heartbeats before this starts it anew.
    /// </summary>
    public void Served(string model)
    {
        var current = _unserved;
        if (current.ContainsKey(model))
        {
            var next = new Dictionary<string, (DateTimeOffset Since, string Reason)>(current, StringComparer.Ordinal);
            next.Remove(model);
            _unserved = next;
        }
    }

    /// <summary>Whether a live worker serves <paramref name="model"/> now (one Redis read); true when Redis cannot say.</summary>
    public async Task<bool> IsServedNowAsync(string model)
    {
        try
        {
            var served = UnavailableReason(model, null, await WorkerDirectory.ReadAsync(redis), anyReady: false) is null;
            if (served)
            {
                Served(model);
            }
            return served;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return true; // the job store is down too: that answer (503 store_unavailable) is the one to give
        }
    }

    /// <summary>
    /// Why no live worker serves <paramref name="model"/>, or null when one does: with <paramref name="anyReady"/> only a
    /// worker consuming jobs counts (readiness); without, a worker that has loaded it and is about to consume counts too.
    /// </summary>
    public static string? UnavailableReason(string model, int? desired, IReadOnlyList<WorkerHeartbeatInfo> workers, bool anyReady)
    {
        var loaded = workers.Where(w => w.Models.Any(m => m.Model == model)).ToList();
        if (loaded.Count > 0 && (!anyReady || loaded.Any(w => w.Ready)))
        {
            return null;
        }
        if (workers.Count == 0)
        {
            return "no worker is running";
        }
        return loaded.Count > 0
            ? "the workers that loaded it are not consuming jobs yet"
            : $"none of the {workers.Count} live worker(s) serves it{(desired is { } d ? $" (version {d} is desired)" : "")}";
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshInterval);
        do
        {
            try
            {
                await RefreshAsync();
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // The last list stays in force; jobs cannot be stored without Redis anyway.
                LogRefreshFailed(e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static bool IsValidVerdict(string? json)
    {
        try
        {
            return json is not null && JsonSerializer.Deserialize<ModelVersionState>(json, Json)?.IsValid == true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private JsonElement? TryParse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            LogBadManifest(e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the model list from Redis failed: {Reason}")]
    private partial void LogRefreshFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping a manifest that does not parse: {Reason}")]
    private partial void LogBadManifest(string reason);
}

/// <summary>Not ready until ModelSync has listed the bucket once: before that every model would look unknown.</summary>
internal sealed class ModelCatalogHealthCheck(ModelCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(catalog.IsSynced
            ? HealthCheckResult.Healthy($"{catalog.All.Count} model(s)")
            : HealthCheckResult.Unhealthy("waiting for ModelSync's first pass over the model bucket"));
}
