namespace Worker.Batching;

/// <summary>Counters the heartbeat publishes (dashboard, ModelSync) — updated by the batchers.</summary>
public sealed class WorkerStats
{
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

    public void BatchStarted(int size)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _jobs, size);
        Interlocked.Add(ref _inFlight, size);
    }

    public void BatchFinished(int size, int succeeded, int failed)
    {
        Interlocked.Add(ref _inFlight, -size);
        Interlocked.Add(ref _succeeded, succeeded);
        Interlocked.Add(ref _failed, failed);
    }
}
