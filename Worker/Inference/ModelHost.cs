using System.Globalization;
using System.Text.Json;
using Contracts;
using Contracts.Models;
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
/// in Redis, or the newest published one when none is set (or Redis cannot say). A desired version that cannot be fetched
/// (not in the bucket, bytes that differ from the manifest) gives way to the newest valid one that can, and the heartbeat
/// says so (<see cref="Fallbacks"/>). A new version arrives by a restart.
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

    /// <summary>Per model, why this replica serves another version than ModelSync's desired one (it could not fetch that one).</summary>
    public IReadOnlyDictionary<string, string> Fallbacks => _fallbacks;

    private volatile IReadOnlyDictionary<string, string> _fallbacks = new Dictionary<string, string>();

    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var published = (await bucket.ListPublishedAsync(cancellationToken)).Where(v => v.Manifest is not null).ToList();
        var names = published.Select(v => v.Model).Distinct(StringComparer.Ordinal).ToList();
        var wanted = options.Value.Models.Length > 0 ? options.Value.Models.ToHashSet(StringComparer.Ordinal) : names.ToHashSet(StringComparer.Ordinal);
        var verdicts = ReadVerdicts(names);
        var fetched = new Dictionary<string, int>(StringComparer.Ordinal);
        var fallbacks = new Dictionary<string, string>(StringComparer.Ordinal);
        var attempted = new HashSet<string>(StringComparer.Ordinal);

        // The first candidate that can be fetched; a pipeline brings its stages, at the versions this replica serves them.
        async Task FetchAsync(string name)
        {
            if (!attempted.Add(name))
            {
                return;
            }
            var versions = published.Where(v => v.Model == name).ToDictionary(v => v.Version);
            var verdict = verdicts.GetValueOrDefault(name);
            var problems = new List<string>();
            if (verdict?.Desired is { } d && !versions.ContainsKey(d))
            {
                problems.Add($"version {d} is not published in the bucket");
            }
            foreach (var candidate in VersionChoice.Candidates(versions.Keys, verdict))
            {
                var version = versions[candidate];
                try
                {
                    await _cache.FetchAsync(version, cancellationToken);
                }
                catch (Exception e) when (e is BucketIntegrityException or IOException or UnauthorizedAccessException)
                {
                    // A file that does not match its sha256 never runs here; an older valid version may.
                    problems.Add($"version {candidate} cannot be fetched: {e.Message}");
                    continue;
                }
                fetched[name] = candidate;
                if (verdict?.Desired is { } desired && desired != candidate)
                {
                    fallbacks[name] = WorkerFallback.Describe(desired, problems, candidate);
                    LogFallback(name, candidate, fallbacks[name]);
                }
                foreach (var stage in version.Manifest!.Pipeline is { } p ? new[] { p.Detection, p.Classification, p.Recognition } : [])
                {
                    if (stage is not null)
                    {
                        await FetchAsync(stage);
                    }
                }
                return;
            }
            if (wanted.Contains(name))
            {
                LogSkipped(name, problems.Count > 0 ? string.Join("; ", problems) : "ModelSync found no valid version");
            }
        }

        foreach (var name in names.Where(wanted.Contains))
        {
            await FetchAsync(name);
        }
        _fallbacks = fallbacks;

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

    private static readonly JsonSerializerOptions VerdictJson = new(JsonSerializerDefaults.Web);

    /// <summary>Per model: ModelSync's desired version and the versions it found valid (absent: not judged, or no Redis answer).</summary>
    private Dictionary<string, ModelVerdicts> ReadVerdicts(IReadOnlyList<string> models)
    {
        var verdicts = new Dictionary<string, ModelVerdicts>(StringComparer.Ordinal);
        if (models.Count == 0)
        {
            return verdicts;
        }
        try
        {
            var db = redis.GetDatabase();
            var desired = db.StringGet([.. models.Select(m => (RedisKey)RedisKeys.ModelDesired(m))]);
            for (var i = 0; i < desired.Length; i++)
            {
                var states = db.HashGetAll(RedisKeys.ModelVersions(models[i]));
                int? version = desired[i].HasValue && int.TryParse((string)desired[i]!, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : null;
                // Not judged yet: the newest published version is what ModelSync is about to choose.
                IReadOnlySet<int>? valid = states.Length == 0 ? null : states
                    .Where(e => JsonSerializer.Deserialize<Contracts.Models.ModelVersionState>((string)e.Value!, VerdictJson)?.IsValid == true)
                    .Select(e => int.Parse((string)e.Name!, CultureInfo.InvariantCulture))
                    .ToHashSet();
                if (version is not null || valid is not null)
                {
                    verdicts[models[i]] = new ModelVerdicts(version, valid);
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or JsonException or FormatException)
        {
            // Without Redis nothing runs anyway; the latest valid versions are the best guess.
            LogDesiredUnknown(e.Message);
            verdicts.Clear();
        }
        return verdicts;
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Serving {Model} version {Version} instead of the desired one: {Reason}")]
    private partial void LogFallback(string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not serving {Model}: {Reason}")]
    private partial void LogSkipped(string model, string reason);
}
