using Contracts.Models;
using Engine.Models;

namespace Engine.Inference;

/// <summary>Builds the runner a manifest asks for; pipeline stages are loaded once and shared.</summary>
public sealed class ModelRunnerFactory(ModelCatalog catalog, RunnerOptions options) : IDisposable
{
    private readonly Dictionary<string, IModelRunner> _stages = new(StringComparer.Ordinal);

    public IModelRunner Create(ModelDefinition definition) => definition.Manifest.Task switch
    {
        ModelTask.ImageClassification => new ClassificationRunner(definition, options),
        ModelTask.TextRecognition => new TextRecognitionRunner(definition, options),
        ModelTask.TextDetection => new TextDetectionRunner(definition, options),
        ModelTask.Tensor => new TensorRunner(definition, options),
        ModelTask.Ocr => CreatePipeline(definition),
        var task => throw new NotSupportedException($"No runner for task {task}."),
    };

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
        if (!_stages.TryGetValue(model, out var runner))
        {
            var definition = catalog.Find(model)?.Latest?.Definition
                ?? throw new InvalidOperationException($"The pipeline needs model '{model}', which has no valid version in the bucket.");
            _stages[model] = runner = Create(definition);
        }
        return runner as T ?? throw new InvalidOperationException($"Pipeline stage '{model}' is a {runner.GetType().Name}, not a {typeof(T).Name}.");
    }

    public void Dispose()
    {
        foreach (var stage in _stages.Values)
        {
            stage.Dispose();
        }
    }
}

/// <summary>A model served only through OIP tensors (task "tensor").</summary>
public sealed class TensorRunner(ModelDefinition definition, RunnerOptions options) : OnnxModelRunner(definition, options)
{
    protected override InferenceResult[] RunImages(IReadOnlyList<Engine.Imaging.RgbImage> images) =>
        throw new InvalidOperationException("tensor models take no images");
}
