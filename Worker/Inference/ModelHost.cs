using Engine.Inference;
using Engine.Models;
using ServiceDefaults.Caching;

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
}

/// <summary>The model versions this replica serves, loaded from the bucket at start.</summary>
public sealed partial class ModelHost(IConfiguration configuration, Microsoft.Extensions.Options.IOptions<WorkerOptions> options, ILogger<ModelHost> log)
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
        foreach (var model in catalog.Models)
        {
            if (wanted is not null && !wanted.Contains(model.Name))
            {
                continue;
            }
            if (model.Latest is not { IsValid: true, Definition: { } definition } latest)
            {
                LogSkipped(model.Name, string.Join("; ", model.Versions.LastOrDefault()?.Problems ?? ["no valid version"]));
                continue;
            }
            _runners.Add(factory.Create(definition));
            LogLoaded(model.Name, latest.Version);
        }
        if (wanted is not null && wanted.Except(_runners.Select(r => r.Model)).ToList() is { Count: > 0 } missing)
        {
            throw new InvalidOperationException($"Worker:Models names models that are not in the bucket {Bucket} or not valid: {string.Join(", ", missing)}");
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not serving {Model}: {Reason}")]
    private partial void LogSkipped(string model, string reason);
}
