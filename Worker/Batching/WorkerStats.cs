using System.Diagnostics;

namespace Worker.Batching;

/// <summary>Counters the heartbeat publishes (dashboard, ModelSync) — updated by the batchers.</summary>
public sealed class WorkerStats
{
    private readonly object _busyGate = new();
    private int _overlapping;
    private long _busySince;
    private long _busyTicks;
    // Each model run in progress: token → start (Environment.TickCount64).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, long> _running = new();
    private long _runIds;
    private long _batches;
    private long _jobs;
    private long _inFlight;
    private long _succeeded;
    private long _failed;

    public long Batches => Interlocked.Read(ref _batches);

    public long Jobs => Interlocked.Read(ref _jobs);

    public long InFlight => Interlocked.Read(ref _inFlight);

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    public double MeanBatchSize => Batches == 0 ? 0 : (double)Jobs / Batches;

    /// <summary>
    /// Time spent inside model runs since start, a run in progress included; overlapping runs count once, so the
    /// dashboard's utilisation (its growth over wall time) stays between 0 and 1.
    /// </summary>
    public TimeSpan BusyTime
    {
        get
        {
            lock (_busyGate)
            {
                var ticks = _busyTicks + (_overlapping > 0 ? Stopwatch.GetTimestamp() - _busySince : 0);
                return TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency);
            }
        }
    }

    /// <summary>
    /// Marks a batch entering the model; returns the token for <see cref="ModelRunFinished"/>. One interval feeds both the
    /// utilisation (<see cref="BusyTime"/>) and the hang watchdog (<see cref="LongestCompute"/>).
    /// </summary>
    public long ModelRunStarted()
    {
        var token = Interlocked.Increment(ref _runIds);
        _running[token] = Environment.TickCount64;
        lock (_busyGate)
        {
            if (_overlapping++ == 0)
            {
                _busySince = Stopwatch.GetTimestamp();
            }
        }
        return token;
    }

    public void ModelRunFinished(long token)
    {
        _running.TryRemove(token, out _);
        lock (_busyGate)
        {
            if (--_overlapping == 0)
            {
                _busyTicks += Stopwatch.GetTimestamp() - _busySince;
            }
        }
    }

    /// <summary>A job failed by the dead-letter consumer after its last attempt (it never finished in a batch).</summary>
    public void JobDeadLettered() => Interlocked.Increment(ref _failed);

    public void BatchStarted(int size)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _jobs, size);
        Interlocked.Add(ref _inFlight, size);
    }

    /// <summary>How long the oldest batch now inside a model has been computing (zero when none is).</summary>
    public TimeSpan LongestCompute
    {
        get
        {
            var oldest = long.MaxValue;
            foreach (var (_, started) in _running)
            {
                oldest = Math.Min(oldest, started);
            }
            return oldest == long.MaxValue ? TimeSpan.Zero : TimeSpan.FromMilliseconds(Environment.TickCount64 - oldest);
        }
    }

    public void BatchFinished(int size, int succeeded, int failed)
    {
        Interlocked.Add(ref _inFlight, -size);
        Interlocked.Add(ref _succeeded, succeeded);
        Interlocked.Add(ref _failed, failed);
    }
}
