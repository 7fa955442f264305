using Contracts.Models;
using Engine.Models;

namespace Engine.Inference;

/// <summary>
/// Builds the runner a manifest asks for. Runners are cached by model name and version, so a model that is also a
/// pipeline stage (ocr-rec inside ocr, say) is loaded once and the same runner serves both. The factory owns every
/// runner it built: disposing it releases each ONNX session once. A runner disposed earlier by its user is not
/// released again (runner disposal is idempotent), and a pipeline's Dispose leaves its shared stages alone.
/// </summary>
public sealed class ModelRunnerFactory(ModelCatalog catalog, RunnerOptions options) : IDisposable
{
    private readonly Dictionary<(string Model, int Version), IModelRunner> _runners = [];
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>The runner for this model version: the one already built, or a new one.</summary>
    public IModelRunner Create(ModelDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return GetOrBuild(definition);
        }
    }

    private IModelRunner GetOrBuild(ModelDefinition definition)
    {
        var key = (definition.Name, definition.Version);
        if (_runners.TryGetValue(key, out var runner))
        {
            return runner;
        }

        runner = definition.Manifest.Task switch
        {
            ModelTask.ImageClassification => new ClassificationRunner(definition, options),
            ModelTask.TextRecognition => new TextRecognitionRunner(definition, options),
            ModelTask.TextDetection => new TextDetectionRunner(definition, options),
            ModelTask.Tensor => new TensorRunner(definition, options),
            ModelTask.Ocr => CreatePipeline(definition),
            var task => throw new NotSupportedException($"No runner for task {task}."),
        };
        _runners[key] = runner;
        return runner;
    }

    private OcrPipelineRunner CreatePipeline(ModelDefinition definition)
    {
        var pipeline = definition.Manifest.Pipeline ?? throw new ArgumentException($"{definition.Name}: an ocr model needs a pipeline.");
        return new OcrPipelineRunner(
            definition,
            Stage<TextDetectionRunner>(pipeline.Detection),
            pipeline.Classification is { Length: > 0 } cls ? Stage<ClassificationRunner>(cls) : null,
            Stage<TextRecognitionRunner>(pipeline.Recognition));
    }

    private T Stage<T>(string model) where T : class, IModelRunner
    {
        var definition = catalog.Find(model)?.Latest?.Definition
            ?? throw new InvalidOperationException($"The pipeline needs model '{model}', which has no valid version in the bucket.");
        var runner = GetOrBuild(definition);
        return runner as T ?? throw new InvalidOperationException($"Pipeline stage '{model}' is a {runner.GetType().Name}, not a {typeof(T).Name}.");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var runner in _runners.Values)
            {
                runner.Dispose();
            }

            _runners.Clear();
        }
    }
}

/// <summary>A model served only through OIP tensors (task "tensor").</summary>
public sealed class TensorRunner(ModelDefinition definition, RunnerOptions options) : OnnxModelRunner(definition, options)
{
    protected override InferenceResult[] RunImages(IReadOnlyList<Engine.Imaging.RgbImage> images) =>
        throw new InvalidOperationException("tensor models take no images");
}
