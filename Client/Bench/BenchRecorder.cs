using Contracts.Jobs;

namespace Client.Bench;

/// <summary>
/// One job as the load generator saw it: its wall clock just before sending and just after the result arrived, the
/// job's final record when the transport returned one, and in open loop how late the send was against its schedule.
/// The generator runs on the system's machine, so its wall clock compares with the record's server timestamps.
/// </summary>
public readonly record struct JobTrace(DateTimeOffset Sent, DateTimeOffset Received, JobRecord? Record, TimeSpan? SendLag = null);

/// <summary>
/// Collects job outcomes from every client thread: one latency histogram for the measured window, one per second
/// of it (for latency over time), errors by code, and where the time went (<see cref="Stages"/>). Jobs sent during
/// warm-up are counted for the progress display only.
/// </summary>
public sealed class BenchRecorder(TimeSpan warmup, TimeSpan duration)
{
    /// <summary>
    /// The stages of a job's latency, in order: <c>submit</c> (send → gateway accepted), <c>queue</c> (accepted →
    /// a worker started its batch: broker, delivery, batch gathering) — split, when the record says when the worker received
    /// it, into <c>queue: broker</c> (accepted → delivered) and <c>queue: worker</c> (delivered → started) — <c>run</c> (the batch's model run with
    /// decode, pre- and post-processing), <c>push</c> (finished → result received: storing it, the notice, the
    /// gateway's push), and in open loop <c>send lag</c> (the generator's own lateness, already inside the latency).
    /// </summary>
    public static readonly IReadOnlyList<string> Stages = ["submit", "queue", "queue: broker", "queue: worker", "run", "push", "send lag"];

    private readonly Lock _lock = new();
    private readonly LatencyHistogram _all = new();
    private readonly Dictionary<string, LatencyHistogram> _stages = Stages.ToDictionary(s => s, _ => new LatencyHistogram(), StringComparer.Ordinal);
    private long _batchSizeSum;
    private long _batchSizeJobs;
    private readonly Dictionary<int, (LatencyHistogram Latency, long Failed)> _seconds = [];
    private readonly Dictionary<string, long> _errors = new(StringComparer.Ordinal);
    private long _sent;
    private long _succeeded;
    private long _failed;
    private long _inWindow;
    private long _warmupDone;

    public TimeSpan Warmup { get; } = warmup;

    public TimeSpan Duration { get; } = duration;

    public long Sent => Interlocked.Read(ref _sent);

    public long Completed { get { lock (_lock) { return _succeeded + _failed + _warmupDone; } } }

    public long Failed { get { lock (_lock) { return _failed; } } }

    public void Started(TimeSpan sentAt)
    {
        if (sentAt >= Warmup)
        {
            Interlocked.Increment(ref _sent);
        }
    }

    /// <summary>One job's outcome: sent (or scheduled, open loop) at <paramref name="sentAt"/>, finished at
    /// <paramref name="finishedAt"/> (both from the run's start); <paramref name="error"/> null when it succeeded;
    /// <paramref name="trace"/> what is known of where its time went.</summary>
    public void Finished(TimeSpan sentAt, TimeSpan finishedAt, string? error, JobTrace? trace = null)
    {
        lock (_lock)
        {
            if (sentAt < Warmup)
            {
                _warmupDone++;
                return;
            }
            var second = (int)Math.Floor((finishedAt - Warmup).TotalSeconds);
            if (!_seconds.TryGetValue(second, out var slot))
            {
                slot = (new LatencyHistogram(), 0);
            }
            if (error is null)
            {
                _succeeded++;
                _all.Record(finishedAt - sentAt);
                slot.Latency.Record(finishedAt - sentAt);
                if (finishedAt <= Warmup + Duration)
                {
                    _inWindow++;
                }
                if (trace is { } t)
                {
                    RecordStages(t);
                }
            }
            else
            {
                _failed++;
                slot.Failed++;
                _errors[error] = _errors.GetValueOrDefault(error) + 1;
            }
            _seconds[second] = slot;
        }
    }

    /// <summary>Only jobs whose record carries all three server timestamps count, so every stage covers the same jobs.</summary>
    private void RecordStages(JobTrace trace)
    {
        if (trace.Record is not { StartedAt: { } started, FinishedAt: { } finished } record || record.AcceptedAt == default)
        {
            return;
        }
        // Clocks read a few microseconds apart can put a stage slightly below zero.
        void Stage(string name, TimeSpan span) => _stages[name].Record(span < TimeSpan.Zero ? TimeSpan.Zero : span);
        Stage("submit", record.AcceptedAt - trace.Sent);
        Stage("queue", started - record.AcceptedAt);
        if (record.Timings?.DeliveredMs is { } delivered)
        {
            // The queue stage split where the worker received the message: the broker's part, then the worker's own.
            var deliveredAt = record.AcceptedAt + TimeSpan.FromMilliseconds(delivered);
            Stage("queue: broker", deliveredAt - record.AcceptedAt);
            Stage("queue: worker", started - deliveredAt);
        }
        Stage("run", finished - started);
        Stage("push", trace.Received - finished);
        if (trace.SendLag is { } lag)
        {
            Stage("send lag", lag);
        }
        if (record.Timings?.BatchSize is { } batchSize)
        {
            _batchSizeSum += batchSize;
            _batchSizeJobs++;
        }
    }

    /// <summary>Latency so far (ms) for the progress display.</summary>
    public (double P50, double P99, double Max) Snapshot()
    {
        lock (_lock)
        {
            return (_all.ValueAtPercentile(50) / 1000.0, _all.ValueAtPercentile(99) / 1000.0, _all.MaxMicroseconds / 1000.0);
        }
    }

    public BenchReport Report(BenchSettings settings, DateTimeOffset startedAt, int inputs)
    {
        lock (_lock)
        {
            return new BenchReport
            {
                Model = settings.Model,
                Gateway = settings.Gateway.ToString(),
                Transport = settings.Transport switch
                {
                    BenchTransport.Rest => "rest",
                    BenchTransport.Jobs => "rest-jobs",
                    BenchTransport.Oip => "oip",
                    _ => $"signalr/{settings.Protocol.ToString().ToLowerInvariant()}",
                },
                Mode = settings.Mode.ToString().ToLowerInvariant(),
                Clients = settings.Clients,
                Rate = settings.Mode == BenchMode.Open ? settings.Rate : null,
                Inputs = inputs,
                StartedAt = startedAt,
                WarmupSeconds = Warmup.TotalSeconds,
                DurationSeconds = Duration.TotalSeconds,
                Sent = Sent,
                Succeeded = _succeeded,
                Failed = _failed,
                Throughput = Math.Round(_inWindow / Duration.TotalSeconds, 2),
                Latency = LatencySummary.From(_all),
                Errors = new SortedDictionary<string, long>(_errors, StringComparer.Ordinal),
                Timeline = _seconds.OrderBy(s => s.Key).Select(s => new TimelinePoint(
                    s.Key, s.Value.Latency.Count, s.Value.Failed,
                    s.Value.Latency.ValueAtPercentile(50) / 1000.0,
                    s.Value.Latency.ValueAtPercentile(99) / 1000.0,
                    s.Value.Latency.MaxMicroseconds / 1000.0)).ToList(),
                Histogram = _all.Buckets().Select(b => new HistogramBucket(b.Low / 1000.0, b.High / 1000.0, b.Count)).ToList(),
                Stages = _stages["submit"].Count == 0 ? null
                    : Stages.Where(s => _stages[s].Count > 0).ToDictionary(s => s, s => LatencySummary.From(_stages[s]), StringComparer.Ordinal),
                MeanBatchSize = _batchSizeJobs == 0 ? null : Math.Round(_batchSizeSum / (double)_batchSizeJobs, 2),
            };
        }
    }
}
