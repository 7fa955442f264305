namespace Client.Bench;

/// <summary>
/// Collects job outcomes from every client thread: one latency histogram for the measured window, one per second
/// of it (for latency over time), and errors by code. Jobs sent during warm-up are counted for the progress
/// display only.
/// </summary>
public sealed class BenchRecorder(TimeSpan warmup, TimeSpan duration)
{
    private readonly Lock _lock = new();
    private readonly LatencyHistogram _all = new();
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
    /// <paramref name="finishedAt"/> (both from the run's start); <paramref name="error"/> null when it succeeded.</summary>
    public void Finished(TimeSpan sentAt, TimeSpan finishedAt, string? error)
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
                Transport = settings.Transport.ToString().ToLowerInvariant(),
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
            };
        }
    }
}
