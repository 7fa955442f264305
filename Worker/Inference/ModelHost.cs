using System.Globalization;
using Contracts;
using Engine.Inference;
using Engine.Models;
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

    /// <summary>Batches computed at once in this process.</summary>
    public int ConcurrentBatches { get; set; } = 1;

    /// <summary>
    /// A batch computing longer than this means the replica hangs (a model that never returns cannot be interrupted):
    /// <c>/alive</c> then fails and the supervisor (the AppHost, a Kubernetes liveness probe) replaces the process.
    /// </summary>
    public TimeSpan HangTimeout { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// The model versions this replica serves, loaded from the bucket at start: per model the version ModelSync set as
/// desired in Redis, or the latest valid one when none is set (or Redis cannot say). A new version arrives by a restart.
/// </summary>
public sealed partial class ModelHost(
    IConfiguration configuration, IConnectionMultiplexer redis, Microsoft.Extensions.Options.IOptions<WorkerOptions> options, ILogger<ModelHost> log)
    : IDisposable
{
    private readonly List<IModelRunner> _runners = [];

    public IReadOnlyList<IModelRunner> Runners => _runners;

    public string Bucket { get; } = configuration.GetRequiredConnectionString("models", "the model bucket (a directory path)");

    public void Load()
    {
        var catalog = ModelCatalog.Scan(Bucket);
        var wanted = options.Value.Models.Length > 0 ? options.Value.Models.ToHashSet(StringComparer.Ordinal) : null;
        var factory = new ModelRunnerFactory(catalog, new RunnerOptions(options.Value.IntraOpThreads));
        var desired = ReadDesiredVersions(catalog);
        foreach (var model in catalog.Models)
        {
            if (wanted is not null && !wanted.Contains(model.Name))
            {
                continue;
            }
            if (desired.TryGetValue(model.Name, out var version) && version is null)
            {
                LogSkipped(model.Name, "ModelSync found no valid version");
                continue;
            }
            var chosen = version is { } v
                ? model.Versions.FirstOrDefault(c => c.Version == v && c.IsValid) ?? model.Latest
                : model.Latest;
            if (chosen is not { IsValid: true, Definition: { } definition })
            {
                LogSkipped(model.Name, string.Join("; ", model.Versions.LastOrDefault()?.Problems ?? ["no valid version"]));
                continue;
            }
            try
            {
                _runners.Add(factory.Create(definition));
            }
            catch (Exception e) when (e is Engine.Onnx.OnnxRuntimeException or InvalidOperationException or ArgumentException)
            {
                // One bad model (ModelSync marks it invalid) must not keep this replica from serving the others.
                LogSkipped(model.Name, $"version {chosen.Version} cannot be loaded: {e.Message}");
                continue;
            }
            LogLoaded(model.Name, chosen.Version);
        }
        if (wanted is not null && wanted.Except(_runners.Select(r => r.Model)).ToList() is { Count: > 0 } missing)
        {
            throw new InvalidOperationException($"Worker:Models names models that are not in the bucket {Bucket} or not valid: {string.Join(", ", missing)}");
        }
    }

    /// <summary>The models this replica is configured for; empty means every model in the bucket.</summary>
    public IReadOnlyList<string> Serves => options.Value.Models;

    /// <summary>
    /// Per model judged by ModelSync: its desired version, or null when ModelSync found none valid (not served).
    /// Models ModelSync has not judged (or no Redis answer) are absent: the latest valid version is served.
    /// </summary>
    private Dictionary<string, int?> ReadDesiredVersions(ModelCatalog catalog)
    {
        var desired = new Dictionary<string, int?>(StringComparer.Ordinal);
        try
        {
            var db = redis.GetDatabase();
            var values = db.StringGet([.. catalog.Models.Select(m => (RedisKey)RedisKeys.ModelDesired(m.Name))]);
            for (var i = 0; i < values.Length; i++)
            {
                var name = catalog.Models[i].Name;
                if (values[i].HasValue && int.TryParse((string)values[i]!, NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                {
                    desired[name] = version;
                }
                else if (db.KeyExists(RedisKeys.ModelVersions(name)))
                {
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
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Model} version {Version}")]
    private partial void LogLoaded(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Desired versions not read from Redis, serving the latest valid: {Reason}")]
    private partial void LogDesiredUnknown(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not serving {Model}: {Reason}")]
    private partial void LogSkipped(string model, string reason);
}
