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
/// its oldest job has waited the model's max queue delay. Each batch costs three Redis round trips
/// whatever its size: one read of all records; one script call that marks the runnable jobs running
/// (and the expired ones expired), skipping what is finished or cancelled; after the run, one script
/// call that stores every result (never over a terminal record) and publishes the notices. Only then
/// is the batch acked, in one frame (see <see cref="Acknowledger.SettleAsync"/>). Two batches are in flight at
/// once, so one's round trips overlap the other's model run.
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

    /// <summary>
    /// Batches in flight at once for this model: while one runs the model (one run at a time per worker: the compute
    /// gate), the next reads its records and marks them running, and the one before stores its results and is acked —
    /// so the model does not sit idle through those round trips. Batches are still settled with the broker in
    /// delivery order (see <see cref="ProcessAsync"/>).
    /// </summary>
    public const int InFlightBatches = 2;

    /// <summary>Runs until <paramref name="stopping"/>; the batches in hand are finished, queued jobs stay unacked (the broker requeues them).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var inFlight = new Queue<Task>(InFlightBatches);
        var previous = Task.CompletedTask;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                // A free slot first, then gather: at saturation the batch takes what arrived meanwhile.
                while (inFlight.Count >= InFlightBatches || (inFlight.Count > 0 && inFlight.Peek().IsCompleted))
                {
                    await inFlight.Dequeue();
                }
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
                var batch = new List<QueuedJob>(runner.MaxBatchSize);
                await GatherAsync(batch, stopping);
                if (batch.Count > 0)
                {
                    previous = ProcessAsync(batch, previous);
                    inFlight.Enqueue(previous);
                }
            }
        }
        finally
        {
            await Task.WhenAll(inFlight);
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

    private async Task ProcessAsync(List<QueuedJob> batch, Task previousBatch)
    {
        // Every job of the batch ends here acked or requeued, settled together at the end (see Acknowledger.SettleAsync).
        var settlement = new Settlement(batch.Count);
        try
        {
            await ProcessCoreAsync(batch, settlement);
        }
        finally
        {
            // In delivery order: this batch's one multiple-ack must not cover the jobs of an earlier batch still in hand.
            await previousBatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                // A job not accounted for (an unexpected exception) goes back to the queue: the one multiple-ack must never cover it.
                await settlement.SettleAsync(batch);
            }
            finally
            {
                Interlocked.Add(ref _pending, -batch.Count);
            }
        }
    }

    private async Task ProcessCoreAsync(List<QueuedJob> batch, Settlement settlement)
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
            settlement.RequeueAll(batch);
            return;
        }

        // One script call marks the runnable jobs running and the expired ones expired (each only if not terminal).
        var now = time.GetUtcNow();
        var runnable = new List<(QueuedJob Job, JobRecord Record)>(batch.Count);
        var expired = new List<(QueuedJob Job, JobRecord Record)>();
        for (var i = 0; i < batch.Count; i++)
        {
            var (job, record) = (batch[i], records[i]);
            if (record is null || record.IsTerminal)
            {
                // Unknown (expired from Redis) or already finished — a redelivery, a cancellation: never run twice.
                settlement.Ack(job);
            }
            else if (record.Deadline is { } deadline && deadline < now)
            {
                metrics.JobFailed(runner.Model, _version, "expired");
                expired.Add((job, record with
                {
                    Status = JobStatus.Expired,
                    FinishedAt = now,
                    Error = new JobError(JobErrorCodes.DeadlineExceeded, $"The job was not started before its deadline ({deadline:O})."),
                    Timings = new JobTimings((now - record.AcceptedAt).TotalMilliseconds, null, (now - record.AcceptedAt).TotalMilliseconds, null),
                }));
            }
            else
            {
                runnable.Add((job, record with { Status = JobStatus.Running, StartedAt = now, Version = runner.Version, Attempts = record.Attempts + 1 }));
            }
        }
        if (runnable.Count + expired.Count == 0)
        {
            return;
        }

        bool[] started;
        try
        {
            started = await store.TransitionManyAsync([.. runnable.Select(r => r.Record), .. expired.Select(r => r.Record)]);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Nothing stored: every one of them comes back for another attempt.
            LogStoreUnavailable(e.Message);
            settlement.RequeueAll(runnable.Select(r => r.Job));
            settlement.RequeueAll(expired.Select(r => r.Job));
            return;
        }
        foreach (var (job, _) in expired)
        {
            settlement.Ack(job); // stored as expired, or terminal already
        }
        var toRun = new List<(QueuedJob Job, JobRecord Record)>(runnable.Count);
        for (var i = 0; i < runnable.Count; i++)
        {
            if (started[i])
            {
                toRun.Add(runnable[i]);
            }
            else
            {
                settlement.Ack(runnable[i].Job); // cancelled or gone meanwhile
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
            // Terminal records, and records of jobs going back to the queue (the reason kept): stored in one script call.
            var finishing = new List<JobRecord>(toRun.Count);
            var retry = new bool[toRun.Count];
            for (var i = 0; i < toRun.Count; i++)
            {
                var (job, record) = toRun[i];
                var result = results?[i];
                if (result is null)
                {
                    retry[i] = true;
                    finishing.Add(record with { Status = JobStatus.Queued, Error = new JobError(JobErrorCodes.ModelFailed, error ?? "the model failed") });
                    continue;
                }
                var timings = new JobTimings(
                    (record.StartedAt!.Value - record.AcceptedAt).TotalMilliseconds,
                    computeShare,
                    (finishedAt - record.AcceptedAt).TotalMilliseconds,
                    toRun.Count,
                    (job.ReceivedAt - record.AcceptedAt).TotalMilliseconds);
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
                finishing.Add(done);
            }
            await FinishAsync(toRun, finishing, retry, settlement);
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

    /// <summary>
    /// Stores the batch's terminal records (never over another terminal one), which publishes their notices, in one
    /// round trip; then the stored jobs are acked and the retried ones requeued. Not stored (Redis down): all requeued,
    /// so another attempt stores them.
    /// </summary>
    private async Task FinishAsync(List<(QueuedJob Job, JobRecord Record)> toRun, List<JobRecord> finishing, bool[] retry, Settlement settlement)
    {
        var stored = true;
        try
        {
            await store.TransitionManyAsync(finishing);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogStoreUnavailable(e.Message);
            stored = false;
        }
        for (var i = 0; i < toRun.Count; i++)
        {
            if (stored && !retry[i])
            {
                settlement.Ack(toRun[i].Job);
            }
            else
            {
                settlement.Requeue(toRun[i].Job);
            }
        }
    }

    /// <summary>How each job of a batch is to be settled with the broker; sent per channel in one go at the end.</summary>
    private sealed class Settlement(int capacity)
    {
        private readonly List<QueuedJob> _acks = new(capacity);
        private readonly List<QueuedJob> _requeues = [];

        public void Ack(QueuedJob job) => _acks.Add(job);

        public void Requeue(QueuedJob job) => _requeues.Add(job);

        public void RequeueAll(IEnumerable<QueuedJob> jobs) => _requeues.AddRange(jobs);

        public async Task SettleAsync(List<QueuedJob> batch)
        {
            if (_acks.Count + _requeues.Count < batch.Count)
            {
                _requeues.AddRange(batch.Except(_acks).Except(_requeues));
            }
            foreach (var channel in _acks.Concat(_requeues).Select(j => j.Acks).Distinct())
            {
                await channel.SettleAsync(
                    [.. _acks.Where(j => j.Acks == channel).Select(j => j.DeliveryTag)],
                    [.. _requeues.Where(j => j.Acks == channel).Select(j => j.DeliveryTag)]);
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
        var watch = Stopwatch.StartNew();
        var run = stats.ModelRunStarted(); // watched by the liveness check too: a batch that never returns makes /alive fail
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
            stats.ModelRunFinished(run);
            computeGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job store unavailable; jobs go back to the queue: {Reason}")]
    private partial void LogStoreUnavailable(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} on {Model} failed: {Reason}")]
    private partial void LogBatchFailed(string model, int count, string reason);
}
