using System.Globalization;
using System.Text.Json;
using Contracts;
using Engine.Bucket;
using Engine.Inference;
using Engine.Models;
using Engine.Onnx;
using ServiceDefaults.Caching;
using StackExchange.Redis;

namespace Worker.Inference;

/// <summary>Worker settings, bound from the "Worker" section.</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Models this worker serves (all valid models in the bucket when empty).</summary>
    public string[] Models { get; set; } = [];

    /// <summary>ONNX Runtime threads per session; replicas already use the other cores.</summary>
    public int IntraOpThreads { get; set; } = 1;

    /// <summary><c>cpu</c> (default) or <c>cuda</c>; CUDA needs the GPU build (<c>-p:OnnxRuntimeFlavor=gpu</c>) and CUDA 13 + cuDNN.</summary>
    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>The GPU this replica runs on (CUDA device ordinal), one replica per GPU.</summary>
    public int DeviceId { get; set; }

    /// <summary>What every model session of this replica is created with.</summary>
    internal RunnerOptions RunnerOptions => new(IntraOpThreads, ExecutionProvider, DeviceId);

    /// <summary>Batches computed at once in this process.</summary>
    public int ConcurrentBatches { get; set; } = 1;

    /// <summary>
    /// A batch computing longer than this means the replica hangs (a model that never returns cannot be interrupted):
    /// <c>/alive</c> then fails and the supervisor (the AppHost, a Kubernetes liveness probe) replaces the process.
    /// </summary>
    public TimeSpan HangTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the heartbeat is written once ready (its TTL is five intervals).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Where model versions are copied from the bucket (shareable by replicas); a private temporary one when empty.</summary>
    public string? CacheDirectory { get; set; }
}

/// <summary>
/// The model versions this replica serves, loaded at start through the bucket (<c>ConnectionStrings__models</c>: a directory
/// or S3) into a local cache, every listed file checked against its sha256: per model the version ModelSync set as desired
/// in Redis, or the newest published one when none is set (or Redis cannot say). A new version arrives by a restart.
/// </summary>
public sealed partial class ModelHost(
    IModelBucket bucket, IConnectionMultiplexer redis, Microsoft.Extensions.Options.IOptions<WorkerOptions> options, ILogger<ModelHost> log)
    : IDisposable
{
    // Replaced whole once loading is done: the heartbeat reads it meanwhile.
    private volatile IReadOnlyList<IModelRunner> _runners = [];
    private ModelRunnerFactory? _factory;
    private readonly ModelCache _cache = string.IsNullOrWhiteSpace(options.Value.CacheDirectory)
        ? new ModelCache(bucket, Directory.CreateTempSubdirectory("worker-models-").FullName, ownsDirectory: true)
        : new ModelCache(bucket, options.Value.CacheDirectory);

    public IReadOnlyList<IModelRunner> Runners => _runners;

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var published = (await bucket.ListPublishedAsync(cancellationToken)).Where(v => v.Manifest is not null).ToList();
        var names = published.Select(v => v.Model).Distinct(StringComparer.Ordinal).ToList();
        var wanted = options.Value.Models.Length > 0 ? options.Value.Models.ToHashSet(StringComparer.Ordinal) : names.ToHashSet(StringComparer.Ordinal);
        var desired = ReadDesiredVersions(names);
        var chosen = new Dictionary<string, PublishedVersion>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (desired.TryGetValue(name, out var version) && version is null)
            {
                if (wanted.Contains(name))
                {
                    LogSkipped(name, "ModelSync found no valid version");
                }
                continue;
            }
            var versions = published.Where(v => v.Model == name).ToList();
            var pick = version is { } d ? versions.FirstOrDefault(v => v.Version == d) : versions.MaxBy(v => v.Version);
            if (pick is null)
            {
                if (wanted.Contains(name))
                {
                    LogSkipped(name, $"version {version} is not published in the bucket");
                }
                continue;
            }
            chosen[name] = pick;
        }

        // A pipeline needs its stages: fetch them too, at the versions this replica would serve them.
        var needed = chosen.Values.Where(v => wanted.Contains(v.Model)).ToList();
        foreach (var stage in needed.SelectMany(v => v.Manifest!.Pipeline is { } p ? new[] { p.Detection, p.Classification, p.Recognition } : []).ToList())
        {
            if (stage is not null && chosen.TryGetValue(stage, out var s) && !needed.Contains(s))
            {
                needed.Add(s);
            }
        }
        var fetched = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var version in needed)
        {
            try
            {
                await _cache.FetchAsync(version, cancellationToken);
                fetched[version.Model] = version.Version;
            }
            catch (Exception e) when (e is BucketIntegrityException or IOException or UnauthorizedAccessException)
            {
                // A file that does not match its sha256 never runs here; ModelSync sees this replica not come up with it.
                LogSkipped(version.Model, $"version {version.Version} cannot be fetched: {e.Message}");
            }
        }

        // Only the chosen versions: a pipeline's stages resolve to what this replica serves, not to the newest in the cache.
        var scanned = ModelCatalog.Scan(_cache.Root);
        var catalog = scanned with
        {
            Models = [.. scanned.Models.Where(m => fetched.ContainsKey(m.Name))
                .Select(m => m with { Versions = [.. m.Versions.Where(v => v.Version == fetched[m.Name])] })],
        };
        // The factory owns the runners (a pipeline shares its stages'): it lives as long as this host.
        var factory = _factory = new ModelRunnerFactory(catalog, options.Value.RunnerOptions);
        var runners = new List<IModelRunner>();
        foreach (var model in catalog.Models.Where(m => wanted.Contains(m.Name)))
        {
            if (model.Latest is not { Definition: { } definition } chosenVersion)
            {
                LogSkipped(model.Name, string.Join("; ", model.Versions.LastOrDefault()?.Problems ?? ["no valid version"]));
                continue;
            }
            try
            {
                runners.Add(factory.Create(definition));
            }
            catch (Exception e) when (e is OnnxRuntimeException or InvalidOperationException or ArgumentException)
            {
                // One bad model (ModelSync marks it invalid) must not keep this replica from serving the others.
                LogSkipped(model.Name, $"version {chosenVersion.Version} cannot be loaded: {e.Message}");
                continue;
            }
            LogLoaded(model.Name, chosenVersion.Version);
        }
        _runners = runners;
        if (options.Value.Models.Length > 0 && wanted.Except(runners.Select(r => r.Model)).ToList() is { Count: > 0 } missing)
        {
            throw new InvalidOperationException($"Worker:Models names models that are not in the bucket {bucket.Location} or not valid: {string.Join(", ", missing)}");
        }
    }

    /// <summary>The models this replica is configured for; empty means every model in the bucket.</summary>
    public IReadOnlyList<string> Serves => options.Value.Models;

    /// <summary>
    /// Per model judged by ModelSync: its desired version, or null when ModelSync found none valid (not served).
    /// Models ModelSync has not judged (or no Redis answer) are absent: the latest valid version is served.
    /// </summary>
    private static readonly JsonSerializerOptions VerdictJson = new(JsonSerializerDefaults.Web);

    private Dictionary<string, int?> ReadDesiredVersions(IReadOnlyList<string> models)
    {
        var desired = new Dictionary<string, int?>(StringComparer.Ordinal);
        if (models.Count == 0)
        {
            return desired;
        }
        try
        {
            var db = redis.GetDatabase();
            var values = db.StringGet([.. models.Select(m => (RedisKey)RedisKeys.ModelDesired(m))]);
            for (var i = 0; i < values.Length; i++)
            {
                var name = models[i];
                if (values[i].HasValue && int.TryParse((string)values[i]!, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                {
                    desired[name] = version;
                }
                else if (db.HashValues(RedisKeys.ModelVersions(name)) is { Length: > 0 } verdicts
                    && !verdicts.Any(v => JsonSerializer.Deserialize<Contracts.Models.ModelVersionState>((string)v!, VerdictJson)?.IsValid == true))
                {
                    // Judged, and no version valid. (A valid verdict whose desired version is not written yet is
                    // ModelSync between two writes: the latest valid version is what it is about to choose.)
                    desired[name] = null;
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Without Redis nothing runs anyway; the latest valid versions are the best guess.
            LogDesiredUnknown(e.Message);
            desired.Clear();
        }
        return desired;
    }

    public void Dispose()
    {
        foreach (var runner in _runners)
        {
            runner.Dispose();
        }
        _factory?.Dispose();
        _cache.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Model} version {Version}")]
    private partial void LogLoaded(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Desired versions not read from Redis, serving the latest valid: {Reason}")]
    private partial void LogDesiredUnknown(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not serving {Model}: {Reason}")]
    private partial void LogSkipped(string model, string reason);
}
