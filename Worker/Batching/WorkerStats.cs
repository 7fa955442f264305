using System.Diagnostics;

namespace Worker.Batching;

/// <summary>Counters the heartbeat publishes (dashboard, ModelSync) — updated by the batchers.</summary>
public sealed class WorkerStats
{
    private readonly object _busyGate = new();
    private int _running;
    private long _busySince;
    private long _busyTicks;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, long> _computing = new();
    private long _computeIds;
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
                var ticks = _busyTicks + (_running > 0 ? Stopwatch.GetTimestamp() - _busySince : 0);
                return TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency);
            }
        }
    }

    public void RunStarted()
    {
        lock (_busyGate)
        {
            if (_running++ == 0)
            {
                _busySince = Stopwatch.GetTimestamp();
            }
        }
    }

    public void RunFinished()
    {
        lock (_busyGate)
        {
            if (--_running == 0)
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

    /// <summary>Marks a batch entering the model; returns the token for <see cref="ComputeFinished"/>.</summary>
    public long ComputeStarted()
    {
        var token = Interlocked.Increment(ref _computeIds);
        _computing[token] = Environment.TickCount64;
        return token;
    }

    public void ComputeFinished(long token) => _computing.TryRemove(token, out _);

    /// <summary>How long the oldest batch now inside a model has been computing (zero when none is).</summary>
    public TimeSpan LongestCompute
    {
        get
        {
            var oldest = long.MaxValue;
            foreach (var (_, started) in _computing)
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
