using System.Text.Json;

namespace Engine.Inference;

/// <summary>One job's input as it came off the queue: an image or an OIP JSON request.</summary>
public readonly record struct JobInput(string JobId, string Kind, ReadOnlyMemory<byte> Data);

/// <summary>
/// The outcome of one job in a batch: an output, or an error with a stable code. A client error
/// (bad input) fails the job at once; anything else may be retried.
/// </summary>
public readonly record struct InferenceResult(JsonElement? Output, string? ErrorCode, string? ErrorMessage, bool IsClientError)
{
    public bool Succeeded => Output is not null;

    public static InferenceResult Success(JsonElement output) => new(output, null, null, false);

    public static InferenceResult ClientError(string code, string message) => new(null, code, message, true);
}

/// <summary>A loaded model version that runs batches of jobs. Not thread-safe: one batch at a time.</summary>
public interface IModelRunner : IDisposable
{
    string Model { get; }

    int Version { get; }

    int MaxBatchSize { get; }

    TimeSpan MaxQueueDelay { get; }

    /// <summary>Runs a batch; per-job input problems come back as client errors, a failing model throws.</summary>
    InferenceResult[] Run(IReadOnlyList<JobInput> batch);
}
