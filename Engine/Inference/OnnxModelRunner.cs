using System.Buffers;
using System.Text.Json;
using Contracts.Jobs;
using Engine.Imaging;
using Engine.Models;
using Engine.Onnx;

namespace Engine.Inference;

/// <summary>Runner settings shared by every model of a process.</summary>
public sealed record RunnerOptions(int IntraOpThreads = 1, ExecutionProvider ExecutionProvider = ExecutionProvider.Cpu, int DeviceId = 0)
{
    public SessionOptions SessionOptions => new()
    {
        IntraOpThreads = IntraOpThreads,
        InterOpThreads = 1,
        ExecutionProvider = ExecutionProvider,
        DeviceId = DeviceId,
    };
}

/// <summary>
/// Base of the runners over one ONNX session: decodes each image job (a bad image fails only that job,
/// as a client error), hands the decoded batch to the task, and runs OIP tensor jobs directly.
/// </summary>
public abstract class OnnxModelRunner : IModelRunner
{
    protected OnnxModelRunner(ModelDefinition definition, RunnerOptions options)
    {
        Definition = definition;
        Session = InferenceSession.Load(definition.ModelPath!, options.SessionOptions);
        InputName = definition.Manifest.Input?.Name ?? Session.Inputs[0].Name;
        Preprocessor = definition.Manifest.Input is { } spec ? new ImagePreprocessor(spec) : null;
    }

    public ModelDefinition Definition { get; }

    public InferenceSession Session { get; }

    protected ImagePreprocessor? Preprocessor { get; }

    protected string InputName { get; }

    public string Model => Definition.Name;

    public int Version => Definition.Version;

    public int MaxBatchSize => Math.Max(1, Definition.Manifest.Batching?.MaxBatchSize ?? 1);

    public TimeSpan MaxQueueDelay => TimeSpan.FromMilliseconds(Math.Max(0, Definition.Manifest.Batching?.MaxQueueDelayMs ?? 0));

    public InferenceResult[] Run(IReadOnlyList<JobInput> batch)
    {
        var results = new InferenceResult[batch.Count];
        var images = new List<RgbImage>(batch.Count);
        var imageSlots = new List<int>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var job = batch[i];
            if (job.Kind == InputKinds.Tensor)
            {
                results[i] = RunTensorJob(job.Data.Span);
                continue;
            }
            if (Preprocessor is null)
            {
                results[i] = InferenceResult.ClientError(JobErrorCodes.InvalidInput, $"Model '{Model}' takes tensors (an OIP JSON request), not images.");
                continue;
            }
            try
            {
                images.Add(Preprocessor.Decode(job.Data.Span));
                imageSlots.Add(i);
            }
            catch (ImageDecodeException e)
            {
                results[i] = ImageError(e);
            }
        }
        if (images.Count > 0)
        {
            var outputs = RunImages(images);
            for (var k = 0; k < imageSlots.Count; k++)
            {
                results[imageSlots[k]] = outputs[k];
            }
        }
        return results;
    }

    public static InferenceResult ImageError(ImageDecodeException e) => InferenceResult.ClientError(
        e.Code switch
        {
            ImageErrorCode.UnsupportedFormat => JobErrorCodes.UnsupportedMediaType,
            ImageErrorCode.TooLarge or ImageErrorCode.TooManyPixels => JobErrorCodes.ImageTooLarge,
            _ => JobErrorCodes.InvalidInput,
        },
        e.Message);

    /// <summary>The task's work on decoded images: one result per image, in order.</summary>
    protected abstract InferenceResult[] RunImages(IReadOnlyList<RgbImage> images);

    /// <summary>Runs the model on the request's tensors as they are (OIP infer) and answers with its raw outputs.</summary>
    protected virtual InferenceResult RunTensorJob(ReadOnlySpan<byte> json)
    {
        OipRequest request;
        try
        {
            request = OipCodec.Parse(json);
        }
        catch (OipRequestException e)
        {
            return InferenceResult.ClientError(JobErrorCodes.InvalidInput, e.Message);
        }
        if (request.Inputs.Any(i => i.Bytes is not null))
        {
            // An image sent as an OIP BYTES input runs through the model's own preprocessing.
            if (request.Inputs is not [{ Bytes: [var imageBytes] }] || Preprocessor is null)
            {
                return InferenceResult.ClientError(JobErrorCodes.InvalidInput, "A BYTES input must be a single image, for an image model.");
            }
            try
            {
                return RunImages([Preprocessor.Decode(imageBytes)])[0];
            }
            catch (ImageDecodeException e)
            {
                return ImageError(e);
            }
        }
        try
        {
            using var outputs = Session.Run(request.Inputs.Select(i => new NamedTensor(i.Name, i.Tensor!)).ToList(), request.OutputNames);
            var buffer = new ArrayBufferWriter<byte>(1024);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                OipCodec.WriteOutputs(writer, outputs);
                writer.WriteEndObject();
            }
            using var doc = JsonDocument.Parse(buffer.WrittenMemory);
            return InferenceResult.Success(doc.RootElement.Clone());
        }
        catch (Exception e) when (e is ModelInputException or OnnxRuntimeException)
        {
            // Caller-supplied tensors the model cannot take: ORT's message says why.
            return InferenceResult.ClientError(JobErrorCodes.InvalidInput, e.Message);
        }
    }

    protected static JsonElement ToJson<T>(T value) => JsonSerializer.SerializeToElement(value, JsonOptions);

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private int _disposed;

    /// <summary>Releases the session; later calls do nothing, so the owning factory and a user may both call it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Session.Dispose();
        }

        GC.SuppressFinalize(this);
    }
}
