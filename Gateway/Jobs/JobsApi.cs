using System.Buffers;
using Contracts.Jobs;
using Gateway.Accounts;
using Gateway.Hubs;
using Gateway.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Gateway.Jobs;

/// <summary>The REST jobs API: submit, read (with long-poll), cancel, predict, list models.</summary>
public static class JobsApi
{
    public static IEndpointRouteBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        // Every call names the caller's account with its API key (Gateway/Accounts); a job belongs to the account that submitted it.
        var models = app.MapGroup("/v1/models").RequireAuthorization();
        models.MapGet("/", ListModels);
        models.MapPost("/{model}/jobs", SubmitJob);
        models.MapPost("/{model}/predict", Predict);

        var jobs = app.MapGroup("/v1/jobs").RequireAuthorization();
        jobs.MapGet("/{id}", GetJob);
        jobs.MapDelete("/{id}", CancelJob);
        return app;
    }

    /// <summary>
    /// A model in the bucket; <c>ServingVersions</c> come from live worker heartbeats, <c>Ready</c> when some worker consuming
    /// jobs serves it, and <c>Reason</c> says why not when it is not ready.
    /// </summary>
    public sealed record ModelSummary(
        string Name, string Task, IReadOnlyList<int> Versions, int LatestVersion, IReadOnlyList<int> ServingVersions, bool Ready, string? Reason = null);

    private static async Task<Ok<List<ModelSummary>>> ListModels(ModelCatalog catalog, IConnectionMultiplexer redis)
    {
        IReadOnlyList<WorkerHeartbeatInfo> workers;
        try
        {
            workers = await WorkerDirectory.ReadAsync(redis);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            workers = [];
        }
        return TypedResults.Ok(catalog.All.Select(m =>
        {
            var serving = workers.Where(w => w.Ready)
                .SelectMany(w => w.Models).Where(x => x.Model == m.Name)
                .Select(x => int.TryParse(x.Version, out var v) ? v : 0).Distinct().Order().ToList();
            var reason = ModelCatalog.UnavailableReason(m.Name, m.Desired, workers, anyReady: true);
            if (reason is null)
            {
                catalog.Served(m.Name);
            }
            return new ModelSummary(m.Name, m.Task, m.Versions, m.LatestVersion, serving, reason is null, reason);
        }).ToList());
    }

    private static async Task<IResult> SubmitJob(
        string model, HttpRequest request, JobSubmitter submitter, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        try
        {
            var record = await SubmitFromRequestAsync(model, request, submitter, options.Value, cancellationToken);
            return TypedResults.Accepted($"/v1/jobs/{record.Id}", record);
        }
        catch (SubmissionException e)
        {
            return Problem(e);
        }
    }

    private static async Task<IResult> Predict(
        string model, HttpRequest request, JobSubmitter submitter, JobStore store, JobWaiters waiters,
        IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        try
        {
            Task<JobRecord>? done = null;
            Action unregister = () => { };
            try
            {
                var record = await SubmitFromRequestAsync(model, request, submitter, options.Value, cancellationToken,
                    follower: waiters.Follower, beforePublish: r => done = waiters.Register(r.Id, out unregister));
                var final = await WaitForAsync(record.Id, done!, store, options.Value.SyncTimeout, cancellationToken);
                return final switch
                {
                    null => TypedResults.Problem(statusCode: 504, title: "The job did not finish in time",
                        detail: $"Job {record.Id} is still {record.Status.ToWire()}; follow it at /v1/jobs/{record.Id}.",
                        extensions: new Dictionary<string, object?> { ["code"] = ProblemCodes.Timeout, ["jobId"] = record.Id }),
                    { Status: JobStatus.Succeeded } => TypedResults.Ok(final),
                    _ => JobFailedProblem(final),
                };
            }
            finally
            {
                unregister();
            }
        }
        catch (SubmissionException e)
        {
            return Problem(e);
        }
    }

    private static async Task<IResult> GetJob(
        string id, double? wait, HttpContext context, JobStore store, JobWaiters waiters, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        var owner = context.User.Owner();
        if (!JobIds.IsValid(id))
        {
            return Problem(new SubmissionException(400, ProblemCodes.InvalidJobId, "A job id is 32 lower-case hex digits."));
        }
        if (wait is { } w && (!double.IsFinite(w) || w < 0 || w > options.Value.MaxWait.TotalSeconds))
        {
            return Problem(new SubmissionException(400, ProblemCodes.InvalidOptions,
                $"wait is a number of seconds from 0 to {options.Value.MaxWait.TotalSeconds:0}."));
        }
        try
        {
            JobRecord? record;
            if (wait is > 0)
            {
                var done = waiters.Register(id, out var unregister);
                try
                {
                    // Registered here first, followed in the store second: a state stored in between is published to us.
                    record = JobOwnership.Visible(await store.FollowAsync(id, waiters.Follower), owner);
                    if (record is { IsTerminal: false })
                    {
                        record = await WaitForAsync(id, done, store, TimeSpan.FromSeconds(wait.Value), cancellationToken) ?? await store.GetAsync(id);
                    }
                }
                finally
                {
                    unregister();
                }
            }
            else
            {
                record = JobOwnership.Visible(await store.GetAsync(id), owner);
            }
            return record is null
                ? Problem(new SubmissionException(404, ProblemCodes.JobNotFound, $"There is no job '{id}' (it may have expired)."))
                : TypedResults.Ok(record);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return Problem(new SubmissionException(503, ProblemCodes.StoreUnavailable, "The job store is unavailable; retry shortly.", TimeSpan.FromSeconds(2)));
        }
    }

    private static async Task<IResult> CancelJob(string id, HttpContext context, JobCanceller canceller)
    {
        if (!JobIds.IsValid(id))
        {
            return Problem(new SubmissionException(400, ProblemCodes.InvalidJobId, "A job id is 32 lower-case hex digits."));
        }
        var (record, cancelled) = await canceller.CancelAsync(id, context.User.Owner());
        return record switch
        {
            null => Problem(new SubmissionException(404, ProblemCodes.JobNotFound, $"There is no job '{id}'.")),
            _ when cancelled => TypedResults.Ok(record),
            _ => Problem(new SubmissionException(409, ProblemCodes.JobAlreadyFinished, $"Job {id} already finished as {record.Status.ToWire()}.")),
        };
    }

    /// <summary>Reads the body (bounded by the input limit) and submits it; options come from headers and the query.</summary>
    internal static async Task<JobRecord> SubmitFromRequestAsync(
        string model, HttpRequest request, JobSubmitter submitter, GatewayOptions options, CancellationToken cancellationToken,
        string? follower = null, Action<JobRecord>? beforePublish = null)
    {
        ReadOnlyMemory<byte> body;
        double? timeout;
        try
        {
            submitter.ValidateModel(model);
            await submitter.EnsureServedAsync(model); // before reading a body that could not run anyway
            body = await ReadBodyAsync(request, options.MaxInputBytes, cancellationToken);
            timeout = double.TryParse(request.Query["timeout"], System.Globalization.CultureInfo.InvariantCulture, out var t) ? t : null;
            if (request.Query.ContainsKey("timeout") && timeout is null)
            {
                throw new SubmissionException(400, ProblemCodes.InvalidOptions, "timeout is a number of seconds.");
            }
        }
        catch (SubmissionException e)
        {
            submitter.CountRejected(model, e);
            throw;
        }
        var idempotencyKey = request.Headers["Idempotency-Key"].ToString() is { Length: > 0 } key ? key : null;
        return await submitter.SubmitAsync(model, body, new SubmitOptions(timeout, idempotencyKey), owner: request.HttpContext.User.Owner(), cancellationToken, follower, beforePublish);
    }

    /// <summary>Reads a request body, refusing (413) one over the limit as soon as it is known to be.</summary>
    internal static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > limit)
        {
            throw new SubmissionException(413, ProblemCodes.PayloadTooLarge, $"The body is {declared} bytes; the limit is {limit} bytes.");
        }
        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is { } n and > 0 ? (int)n : 64 * 1024);
        while (true)
        {
            var memory = buffer.GetMemory(64 * 1024);
            var read = await request.Body.ReadAsync(memory, cancellationToken);
            if (read == 0)
            {
                break;
            }
            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                throw new SubmissionException(413, ProblemCodes.PayloadTooLarge, $"The body is over the limit of {limit} bytes.");
            }
        }
        return buffer.WrittenMemory; // the buffer itself: no second copy of every input
    }

    /// <summary>Waits for the terminal record: the notice, or a re-read (the job may have finished before we listened).</summary>
    internal static async Task<JobRecord?> WaitForAsync(string id, Task<JobRecord> done, JobStore store, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id) is { IsTerminal: true } finished)
        {
            return finished;
        }
        try
        {
            return await done.WaitAsync(timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    internal static IResult Problem(SubmissionException e)
    {
        var result = TypedResults.Problem(
            statusCode: e.Status,
            title: e.Code.Replace('_', ' '),
            detail: e.Message,
            type: $"https://aspire-inference.dev/problems/{e.Code}",
            extensions: new Dictionary<string, object?> { ["code"] = e.Code });
        return e.RetryAfter is { } retry ? new WithRetryAfter(result, retry) : result;
    }

    internal static IResult JobFailedProblem(JobRecord record) => TypedResults.Problem(
        statusCode: JobFailedStatus(record),
        title: $"job {record.Status.ToWire()}",
        detail: record.Error?.Message ?? $"The job ended as {record.Status.ToWire()}.",
        type: $"https://aspire-inference.dev/problems/{record.Error?.Code ?? record.Status.ToWire()}",
        extensions: new Dictionary<string, object?> { ["code"] = record.Error?.Code ?? record.Status.ToWire(), ["job"] = record });

    private static int JobFailedStatus(JobRecord record) => record.Status switch
    {
        JobStatus.Failed when record.Error?.Code is JobErrorCodes.InvalidInput or JobErrorCodes.UnsupportedMediaType or JobErrorCodes.ImageTooLarge => 422,
        JobStatus.Expired => 504,
        JobStatus.Cancelled => 409,
        _ => 502,
    };

    /// <summary>Adds <c>Retry-After</c> to a problem answer (429 and 503).</summary>
    private sealed class WithRetryAfter(IResult inner, TimeSpan retryAfter) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
