using System.Text.Json;
using System.Text.Json.Serialization;

namespace Contracts.Jobs;

/// <summary>A job's error: a stable machine-readable code and a sentence for people.</summary>
public sealed record JobError(string Code, string Message);

/// <summary>
/// Milliseconds spent waiting in the queue, computing (the job's share of its batch), and in all; of the queue time,
/// <paramref name="DeliveredMs"/> is accepted → delivered to the worker that ran it (the rest is the worker's own wait:
/// its batch gathering and reading the records).
/// </summary>
public sealed record JobTimings(double? QueueMs, double? ComputeMs, double? TotalMs, int? BatchSize, double? DeliveredMs = null);

/// <summary>
/// The stored state of a job (Redis, one JSON value per job) and the body of every <c>JobUpdated</c> push:
/// clients see the same shape however they ask.
/// </summary>
public sealed record JobRecord
{
    public required string Id { get; init; }

    public required string Model { get; init; }

    public int? Version { get; init; }

    public string? Owner { get; init; }

    public required JobStatus Status { get; init; }

    public DateTimeOffset AcceptedAt { get; init; }

    /// <summary>The size of the submitted input, for the usage ledger.</summary>
    public long? InputBytes { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>After this moment the job is expired: not started if still queued, its result refused if still running.</summary>
    public DateTimeOffset? Deadline { get; init; }

    public JsonElement? Output { get; init; }

    public JobError? Error { get; init; }

    public JobTimings? Timings { get; init; }

    /// <summary>How many times a worker took the job (more than one after a crash or transient error).</summary>
    public int Attempts { get; init; }

    /// <summary>
    /// W3C trace context of the gateway's "submit job" span (set only when tracing is on): whoever finishes or pushes
    /// the job joins its trace from the record alone, without another read.
    /// </summary>
    public string? TraceParent { get; init; }

    [JsonIgnore]
    public bool IsTerminal => Status.IsTerminal();
}

/// <summary>Stable error codes; a client-error code means retrying the same input will fail again.</summary>
public static class JobErrorCodes
{
    public const string InvalidInput = "invalid_input";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string ImageTooLarge = "image_too_large";
    public const string ModelFailed = "model_failed";
    public const string DeliveryLimit = "delivery_limit_exceeded";
    public const string DeadlineExceeded = "deadline_exceeded";
    public const string Cancelled = "cancelled";
}
