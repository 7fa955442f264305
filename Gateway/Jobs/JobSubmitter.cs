using System.Diagnostics;
using System.Globalization;
using Contracts.Jobs;
using Engine.Imaging;
using Engine.Inference;
using Gateway.Accounts;
using Gateway.Messaging;
using Gateway.Models;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using ServiceDefaults.Jobs;
using ServiceDefaults.Telemetry;
using StackExchange.Redis;

namespace Gateway.Jobs;

/// <summary>Limits and defaults of the public edge, bound from the "Gateway" section.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Largest accepted input (image bytes or JSON request).</summary>
    public int MaxInputBytes { get; set; } = 10 * 1024 * 1024;

    /// <summary>A job not started within this time expires (clients may ask for less or more, up to <see cref="MaxJobTimeout"/>).</summary>
    public TimeSpan DefaultJobTimeout { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan MaxJobTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long synchronous calls (predict, OIP infer) wait for the result.</summary>
    public TimeSpan SyncTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest <c>?wait=</c> of a job read.</summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a model may have no live worker serving it before new jobs for it are refused (<c>503 model_unavailable</c>)
    /// rather than queued to wait out their deadline; long enough for workers to start or roll over. Queued jobs stay queued.
    /// </summary>
    public TimeSpan ModelUnavailableGrace { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Validates a job, stores it as queued and publishes it; returns only after the broker confirmed.
/// One Redis round trip (which also applies the account's limits) and one confirmed publish per job.
/// </summary>
public sealed class JobSubmitter(
    ModelCatalog models,
    JobStore store,
    ApiKeyCache accounts,
    JobPublisher publisher,
    IOptions<GatewayOptions> gatewayOptions,
    IOptions<JobQueueOptions> queueOptions,
    InferenceMetrics metrics,
    TimeProvider time)
{
    public const int MaxIdempotencyKeyLength = 200;
    private static readonly ActivitySource Source = new("Aspire.Inference.Gateway");

    public ModelInfo ValidateModel(string model)
    {
        if (!ModelCatalog.IsValidName(model))
        {
            throw new SubmissionException(400, ProblemCodes.InvalidModelName,
                "Model names are 1–64 characters: lower-case letters, digits, '.', '_' and '-', starting with a letter or digit.");
        }
        return models.TryGet(model, out var info)
            ? info
            : throw new SubmissionException(404, ProblemCodes.ModelNotFound, $"There is no model named '{model}'. GET /v1/models lists them.");
    }

    /// <summary>
    /// Refuses a job for a model no live worker has served for longer than <see cref="GatewayOptions.ModelUnavailableGrace"/>
    /// (checked again against the heartbeats before refusing: a worker may have come back since the last refresh).
    /// </summary>
    public async Task EnsureServedAsync(string model)
    {
        var grace = gatewayOptions.Value.ModelUnavailableGrace;
        if (models.Unserved(model) is { } unserved && unserved.For > grace && !await models.IsServedNowAsync(model))
        {
            throw new SubmissionException(503, ProblemCodes.ModelUnavailable, string.Create(CultureInfo.InvariantCulture,
                $"No live worker has served '{model}' for {unserved.For.TotalSeconds:0} s ({unserved.Reason}); new jobs for it are refused until one does. GET /v1/models shows when it is ready."),
                UnavailableRetryAfter);
        }
    }

    private static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(5);

    /// <summary>What the bytes are: an image (sniffed from magic bytes, never from a header) or an OIP JSON request.</summary>
    /// <param name="inputValidated">The caller already parsed the OIP request (the OIP endpoint): don't parse it twice.</param>
    public string ClassifyInput(ModelInfo model, ReadOnlySpan<byte> input, bool inputValidated = false)
    {
        if (input.Length == 0)
        {
            throw new SubmissionException(400, ProblemCodes.EmptyBody, "The request body is empty; send an image (JPEG, PNG, WebP) or an OIP JSON request.");
        }
        if (input.Length > gatewayOptions.Value.MaxInputBytes)
        {
            throw new SubmissionException(413, ProblemCodes.PayloadTooLarge,
                $"The input is {input.Length} bytes; the limit is {gatewayOptions.Value.MaxInputBytes} bytes.");
        }
        if (InputSniffer.IsJsonObject(input))
        {
            if (model.Task == "ocr")
            {
                throw new SubmissionException(400, ProblemCodes.UnsupportedInput, $"Model '{model.Name}' is a pipeline over images; send an image, not tensors.");
            }
            if (!inputValidated)
            {
                try
                {
                    OipCodec.Parse(input);
                }
                catch (OipRequestException e)
                {
                    throw new SubmissionException(400, ProblemCodes.InvalidInput, e.Message);
                }
            }
            return InputKinds.Tensor;
        }
        if (!InputSniffer.IsSupportedImage(input))
        {
            throw new SubmissionException(415, ProblemCodes.UnsupportedMediaType,
                $"The input is not a JPEG, PNG or WebP image ({InputSniffer.Describe(input)}), nor an OIP JSON request.");
        }
        if (!model.TakesImages)
        {
            throw new SubmissionException(400, ProblemCodes.UnsupportedInput, $"Model '{model.Name}' takes tensors (an OIP JSON request), not images.");
        }
        return InputKinds.Image;
    }

    /// <param name="follower">Who follows the job from the start (its entry in the job store), stored with the record.</param>
    /// <param name="beforePublish">Called with the new job's record before it can run, so the caller can wait for it without a race.</param>
    public async Task<JobRecord> SubmitAsync(
        string model, ReadOnlyMemory<byte> input, SubmitOptions? options, string? owner, CancellationToken cancellationToken,
        string? follower = null, Action<JobRecord>? beforePublish = null, bool inputValidated = false)
    {
        try
        {
            return await SubmitCoreAsync(model, input, options, owner, cancellationToken, follower, beforePublish, inputValidated);
        }
        catch (SubmissionException e)
        {
            CountRejected(model, e);
            throw;
        }
    }

    /// <summary>Counts a refused job; names of models that don't exist are not kept (clients choose them).</summary>
    public void CountRejected(string model, SubmissionException e) =>
        metrics.JobRejected(models.TryGet(model, out _) ? model : "unknown", e.Code);

    private async Task<JobRecord> SubmitCoreAsync(
        string model, ReadOnlyMemory<byte> input, SubmitOptions? options, string? owner, CancellationToken cancellationToken,
        string? follower, Action<JobRecord>? beforePublish, bool inputValidated)
    {
        var info = ValidateModel(model);
        await EnsureServedAsync(model);
        var kind = ClassifyInput(info, input.Span, inputValidated);
        var timeout = ResolveTimeout(options);
        if (options?.IdempotencyKey is { Length: > MaxIdempotencyKeyLength or 0 })
        {
            throw new SubmissionException(400, ProblemCodes.InvalidOptions, $"An idempotency key is 1–{MaxIdempotencyKeyLength} characters.");
        }

        using var activity = Source.StartActivity("submit job", ActivityKind.Producer);
        var now = time.GetUtcNow();
        var record = new JobRecord
        {
            Id = Guid.NewGuid().ToString("N"),
            Model = model,
            Owner = owner,
            Status = JobStatus.Queued,
            AcceptedAt = now,
            InputBytes = input.Length,
            Deadline = now + timeout,
            TraceParent = activity?.Id,
        };
        activity?.SetTag("job.id", record.Id);
        activity?.SetTag("job.model", model);

        var limits = owner is not null && Guid.TryParse(owner, out var accountId)
            ? await accounts.LimitsAsync(accountId, cancellationToken)
            : default;
        JobTransition created;
        try
        {
            created = await store.CreateAsync(record, queueOptions.Value.RecordTtl, options?.IdempotencyKey, follower, limits);
        }
        catch (JobLimitExceededException e)
        {
            var retry = e.RetryAfter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : e.RetryAfter;
            throw new SubmissionException(429, ProblemCodes.RateLimited, e.Limit == JobLimitExceededException.Rate
                ? string.Create(CultureInfo.InvariantCulture, $"Your account may submit {limits.JobsPerSecond:0.###} jobs per second (bursts of {limits.EffectiveBurst}); retry after {retry.TotalSeconds:0} s.")
                : $"Your account may have {limits.MaxUnfinished} jobs queued or running at once; retry when one finishes.", retry);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw new SubmissionException(503, ProblemCodes.StoreUnavailable, $"The job store is unavailable ({e.Message}); retry shortly.", TimeSpan.FromSeconds(2));
        }
        if (!created.Applied)
        {
            return created.Record; // same idempotency key: the job it already created
        }

        var properties = new BasicProperties
        {
            Persistent = true,
            MessageId = record.Id,
            ContentType = kind == InputKinds.Tensor ? "application/json" : "application/octet-stream",
            Headers = new Dictionary<string, object?>
            {
                [JobQueues.JobIdHeader] = record.Id,
                [JobQueues.ModelHeader] = model,
                [JobQueues.InputKindHeader] = kind,
                [JobQueues.AcceptedHeader] = now.ToUnixTimeMilliseconds(),
                [JobQueues.DeadlineHeader] = record.Deadline!.Value.ToUnixTimeMilliseconds(),
            },
        };
        if (Activity.Current is { } current)
        {
            properties.Headers[JobQueues.TraceParentHeader] = current.Id;
        }

        beforePublish?.Invoke(record);
        var outcome = await publisher.PublishAsync(model, properties, input, cancellationToken);
        if (outcome != PublishOutcome.Confirmed)
        {
            // The client never learns this id: remove the record rather than leave a job that cannot run. Unless it ended
            // meanwhile (expired at a deadline shorter than the publish took): then it is the client's job, and ended.
            if (await TryDeleteAsync(record.Id, owner) is { } finished)
            {
                metrics.JobAccepted(model);
                return finished;
            }
            throw outcome == PublishOutcome.QueueFull
                ? new SubmissionException(429, ProblemCodes.QueueFull, $"The queue of '{model}' is full; retry shortly.", TimeSpan.FromSeconds(1))
                : new SubmissionException(503, ProblemCodes.BrokerUnavailable, "The message broker is unavailable; retry shortly.", TimeSpan.FromSeconds(2));
        }
        metrics.JobAccepted(model);
        return record;
    }

    private TimeSpan ResolveTimeout(SubmitOptions? options)
    {
        if (options?.Priority is not null)
        {
            throw new SubmissionException(400, ProblemCodes.InvalidOptions,
                "Priorities are not supported: jobs run in arrival order (RabbitMQ quorum queues have no priorities).");
        }
        if (options?.TimeoutSeconds is not { } seconds)
        {
            return gatewayOptions.Value.DefaultJobTimeout;
        }
        var max = gatewayOptions.Value.MaxJobTimeout;
        if (!double.IsFinite(seconds) || seconds <= 0 || seconds > max.TotalSeconds)
        {
            throw new SubmissionException(400, ProblemCodes.InvalidOptions,
                string.Create(CultureInfo.InvariantCulture, $"timeout must be between 0 and {max.TotalSeconds:0} seconds."));
        }
        return TimeSpan.FromSeconds(seconds);
    }

    private async Task<JobRecord?> TryDeleteAsync(string id, string? owner)
    {
        try
        {
            return await store.DeleteUnlessFinishedAsync(id, owner);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return null; // the record expires by its TTL; no client holds its id
        }
    }
}

/// <summary>Magic-byte checks done at the edge; full decoding (and its limits) happens in the worker.</summary>
public static class InputSniffer
{
    public static bool IsJsonObject(ReadOnlySpan<byte> input)
    {
        var trimmed = input.TrimStart(" \t\r\n"u8);
        return trimmed.Length > 0 && trimmed[0] == (byte)'{';
    }

    public static bool IsSupportedImage(ReadOnlySpan<byte> input) =>
        ImageSniffer.Detect(input) is ImageFormat.Jpeg or ImageFormat.Png or ImageFormat.WebP;

    public static string Describe(ReadOnlySpan<byte> input) => ImageSniffer.Detect(input) switch
    {
        ImageFormat.Unknown => $"it starts with {Convert.ToHexString(input[..Math.Min(8, input.Length)])}",
        var format => $"it looks like {format.ToString().ToUpperInvariant()}",
    };
}
