using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Contracts.Jobs;
using Engine.Inference;
using ServiceDefaults.Jobs;
using ServiceDefaults.Telemetry;
using StackExchange.Redis;

namespace Worker.Batching;

/// <summary>
/// Dynamic batching for one model, with Triton's semantics: a batch goes when it is full, or when
/// its oldest job has waited the model's max queue delay. Each batch: one Redis read for all records,
/// skip what is finished, cancelled or expired, mark the rest running, run, store each result (one
/// script call per job, pipelined, which also publishes the notice), and only then ack.
/// Each job that runs gets a "run job" span continuing the gateway's trace (the message's
/// <c>traceparent</c>); the batch's span links to every job's.
/// </summary>
public sealed partial class ModelBatcher(
    IModelRunner runner,
    JobStore store,
    WorkerStats stats,
    InferenceMetrics metrics,
    SemaphoreSlim computeGate,
    TimeProvider time,
    ILogger log)
{
    private static readonly ActivitySource Source = new("Aspire.Inference.Worker");
    private readonly Channel<QueuedJob> _queue = Channel.CreateUnbounded<QueuedJob>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _version = runner.Version.ToString(CultureInfo.InvariantCulture);
    private long _pending;

    public IModelRunner Runner => runner;

    /// <summary>Jobs received and not yet through a batch (waiting here or in the batch being run).</summary>
    public long Pending => Interlocked.Read(ref _pending);

    public void Enqueue(QueuedJob job)
    {
        Interlocked.Increment(ref _pending);
        _queue.Writer.TryWrite(job);
    }

    /// <summary>Runs until <paramref name="stopping"/>; the batch in hand is finished, queued jobs stay unacked (the broker requeues them).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var batch = new List<QueuedJob>(runner.MaxBatchSize);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (!await _queue.Reader.WaitToReadAsync(stopping))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await GatherAsync(batch, stopping);
            if (batch.Count > 0)
            {
                try
                {
                    await ProcessAsync(batch);
                }
                finally
                {
                    Interlocked.Add(ref _pending, -batch.Count);
                    batch.Clear();
                }
            }
        }
    }

    private async Task GatherAsync(List<QueuedJob> batch, CancellationToken stopping)
    {
        while (batch.Count < runner.MaxBatchSize && _queue.Reader.TryRead(out var job))
        {
            batch.Add(job);
        }
        if (batch.Count == 0)
        {
            return;
        }
        var dispatchAt = batch[0].ReceivedAt + runner.MaxQueueDelay;
        while (batch.Count < runner.MaxBatchSize)
        {
            var wait = dispatchAt - time.GetUtcNow();
            if (wait <= TimeSpan.Zero)
            {
                break;
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(wait);
            try
            {
                if (!await _queue.Reader.WaitToReadAsync(timeout.Token))
                {
                    break;
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            while (batch.Count < runner.MaxBatchSize && _queue.Reader.TryRead(out var job))
            {
                batch.Add(job);
            }
        }
    }

    private async Task ProcessAsync(List<QueuedJob> batch)
    {
        JobRecord?[] records;
        try
        {
            records = await store.GetManyAsync(batch.ConvertAll(j => j.JobId));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogStoreUnavailable(e.Message);
            await Task.Delay(TimeSpan.FromSeconds(1));
            foreach (var job in batch)
            {
                await job.Acks.RequeueAsync(job.DeliveryTag);
            }
            return;
        }

        var now = time.GetUtcNow();
        var runnable = new List<(QueuedJob Job, JobRecord Record)>(batch.Count);
        var starting = new List<Task<JobTransition?>>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var (job, record) = (batch[i], records[i]);
            if (record is null || record.IsTerminal)
            {
                // Unknown (expired from Redis) or already finished — a redelivery, a cancellation: never run twice.
                await job.Acks.AckAsync(job.DeliveryTag);
            }
            else if (record.Deadline is { } deadline && deadline < now)
            {
                metrics.JobFailed(runner.Model, _version, "expired");
                await Finish(job, record with
                {
                    Status = JobStatus.Expired,
                    FinishedAt = now,
                    Error = new JobError(JobErrorCodes.DeadlineExceeded, $"The job was not started before its deadline ({deadline:O})."),
                    Timings = new JobTimings((now - record.AcceptedAt).TotalMilliseconds, null, (now - record.AcceptedAt).TotalMilliseconds, null),
                });
            }
            else
            {
                var running = record with { Status = JobStatus.Running, StartedAt = now, Version = runner.Version, Attempts = record.Attempts + 1 };
                runnable.Add((job, running));
                starting.Add(store.TransitionAsync(running));
            }
        }
        if (runnable.Count == 0)
        {
            return;
        }

        JobTransition?[] started;
        try
        {
            started = await Task.WhenAll(starting);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogStoreUnavailable(e.Message);
            foreach (var (job, _) in runnable)
            {
                await job.Acks.RequeueAsync(job.DeliveryTag);
            }
            return;
        }
        var toRun = new List<(QueuedJob Job, JobRecord Record)>(runnable.Count);
        for (var i = 0; i < runnable.Count; i++)
        {
            if (started[i] is { Applied: true })
            {
                toRun.Add(runnable[i]);
            }
            else
            {
                await runnable[i].Job.Acks.AckAsync(runnable[i].Job.DeliveryTag); // cancelled or gone meanwhile
            }
        }
        if (toRun.Count == 0)
        {
            return;
        }

        stats.BatchStarted(toRun.Count);
        var spans = StartJobSpans(toRun);
        var succeeded = 0;
        var failed = 0;
        try
        {
            var (results, error, elapsed) = await RunBatchAsync(toRun, spans);
            metrics.BatchExecuted(runner.Model, _version, toRun.Count);
            var finishedAt = time.GetUtcNow();
            var computeShare = elapsed.TotalMilliseconds / toRun.Count;
            var finishing = new List<Task>(toRun.Count);
            for (var i = 0; i < toRun.Count; i++)
            {
                var (job, record) = toRun[i];
                var result = results?[i];
                if (result is null)
                {
                    finishing.Add(RetryLater(job, record, error ?? "the model failed"));
                    continue;
                }
                var timings = new JobTimings(
                    (record.StartedAt!.Value - record.AcceptedAt).TotalMilliseconds,
                    computeShare,
                    (finishedAt - record.AcceptedAt).TotalMilliseconds,
                    toRun.Count);
                var done = result.Value.Succeeded
                    ? record with { Status = JobStatus.Succeeded, FinishedAt = finishedAt, Output = result.Value.Output, Timings = timings }
                    : record with
                    {
                        Status = JobStatus.Failed,
                        FinishedAt = finishedAt,
                        Error = new JobError(result.Value.ErrorCode ?? JobErrorCodes.InvalidInput, result.Value.ErrorMessage ?? "invalid input"),
                        Timings = timings,
                    };
                if (result.Value.Succeeded)
                {
                    succeeded++;
                }
                else
                {
                    failed++;
                    spans[i]?.SetStatus(ActivityStatusCode.Error, done.Error?.Code);
                }
                metrics.JobFinished(runner.Model, _version, timings.QueueMs ?? 0, elapsed.TotalMilliseconds, result.Value.Succeeded ? null : done.Error?.Code ?? "error");
                finishing.Add(Finish(job, done));
            }
            await Task.WhenAll(finishing);
        }
        finally
        {
            stats.BatchFinished(toRun.Count, succeeded, failed);
            foreach (var span in spans)
            {
                span?.Dispose();
            }
        }
    }

    /// <summary>One span per job, child of the gateway's "submit job" span when the message carried its context.</summary>
    private Activity?[] StartJobSpans(List<(QueuedJob Job, JobRecord Record)> toRun)
    {
        var spans = new Activity?[toRun.Count];
        if (!Source.HasListeners())
        {
            return spans;
        }
        var previous = Activity.Current;
        for (var i = 0; i < toRun.Count; i++)
        {
            var (job, record) = toRun[i];
            ActivityContext.TryParse(job.TraceParent, null, isRemote: true, out var parent);
            var span = Source.StartActivity("run job", ActivityKind.Consumer, parent, startTime: job.ReceivedAt);
            span?.SetTag("job.id", job.JobId);
            span?.SetTag("job.model", runner.Model);
            span?.SetTag("job.version", _version);
            span?.SetTag("job.attempt", record.Attempts);
            spans[i] = span;
        }
        // Starting a span makes it current: restore, so the batch's span is not a child of the last job's.
        Activity.Current = previous;
        return spans;
    }

    /// <summary>Runs the batch; if the model throws, runs each job alone so one bad job cannot sink the others.</summary>
    private async Task<(InferenceResult?[]? Results, string? Error, TimeSpan Elapsed)> RunBatchAsync(List<(QueuedJob Job, JobRecord Record)> toRun, Activity?[] spans)
    {
        var inputs = toRun.ConvertAll(x => new JobInput(x.Job.JobId, x.Job.Kind, x.Job.Body));
        await computeGate.WaitAsync();
        stats.RunStarted();
        var watch = Stopwatch.StartNew();
        var computing = stats.ComputeStarted(); // watched by the liveness check: a batch that never returns makes /alive fail
        try
        {
            var links = spans.OfType<Activity>().Select(s => new ActivityLink(s.Context));
            using var activity = Source.StartActivity(ActivityKind.Internal, default(ActivityContext), links: links, name: "run batch");
            activity?.SetTag("job.model", runner.Model);
            activity?.SetTag("batch.size", inputs.Count);
            try
            {
                var results = await Task.Run(() => runner.Run(inputs));
                return (results.Select(r => (InferenceResult?)r).ToArray(), null, watch.Elapsed);
            }
            catch (Exception e) when (e is not OutOfMemoryException && inputs.Count > 1)
            {
                LogBatchFailed(runner.Model, inputs.Count, e.Message);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogBatchFailed(runner.Model, 1, e.Message);
                return ([null], $"{e.GetType().Name}: {e.Message}", watch.Elapsed);
            }

            var singles = new InferenceResult?[inputs.Count];
            string? lastError = null;
            for (var i = 0; i < inputs.Count; i++)
            {
                try
                {
                    singles[i] = await Task.Run(() => runner.Run([inputs[i]])[0]);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    lastError = $"{e.GetType().Name}: {e.Message}";
                }
            }
            return (singles, lastError, watch.Elapsed);
        }
        finally
        {
            stats.RunFinished();
            stats.ComputeFinished(computing);
            computeGate.Release();
        }
    }

    /// <summary>Stores a terminal record (never over another terminal one), which publishes its notice, then acks.</summary>
    private async Task Finish(QueuedJob job, JobRecord done)
    {
        try
        {
            await store.TransitionAsync(done);
            await job.Acks.AckAsync(job.DeliveryTag);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Not stored: leave it unacked-then-requeued so another attempt stores it.
            LogStoreUnavailable(e.Message);
            await job.Acks.RequeueAsync(job.DeliveryTag);
        }
    }

    /// <summary>Keeps the reason on the record and returns the job to the queue; past the delivery limit it is dead-lettered and failed.</summary>
    private async Task RetryLater(QueuedJob job, JobRecord record, string reason)
    {
        try
        {
            await store.TransitionAsync(record with { Status = JobStatus.Queued, Error = new JobError(JobErrorCodes.ModelFailed, reason) });
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogStoreUnavailable(e.Message);
        }
        await job.Acks.RequeueAsync(job.DeliveryTag);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job store unavailable; jobs go back to the queue: {Reason}")]
    private partial void LogStoreUnavailable(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} on {Model} failed: {Reason}")]
    private partial void LogBatchFailed(string model, int count, string reason);
}
