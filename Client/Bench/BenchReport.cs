namespace Client.Bench;

/// <summary>The outcome of a run, as written to JSON and drawn in the HTML report. Latencies in milliseconds.</summary>
public sealed record BenchReport
{
    public required string Model { get; init; }

    public required string Gateway { get; init; }

    public required string Transport { get; init; }

    public required string Mode { get; init; }

    public int Clients { get; init; }

    /// <summary>Target arrival rate (open loop only), jobs/s.</summary>
    public double? Rate { get; init; }

    public int Inputs { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public double WarmupSeconds { get; init; }

    public double DurationSeconds { get; init; }

    /// <summary>Jobs started in the measured window (after warm-up).</summary>
    public long Sent { get; init; }

    public long Succeeded { get; init; }

    public long Failed { get; init; }

    /// <summary>Jobs that succeeded and finished inside the measured window, per second of it.</summary>
    public double Throughput { get; init; }

    public required LatencySummary Latency { get; init; }

    /// <summary>Failed jobs by error code (the gateway's code, the job's error code, or <c>timeout</c>, <c>connection</c>).</summary>
    public required IReadOnlyDictionary<string, long> Errors { get; init; }

    /// <summary>One point per second of the measured window, by completion time.</summary>
    public required IReadOnlyList<TimelinePoint> Timeline { get; init; }

    /// <summary>Non-empty histogram buckets of successful jobs' latency.</summary>
    public required IReadOnlyList<HistogramBucket> Histogram { get; init; }

    /// <summary>
    /// Where successful jobs' time went, by stage in <see cref="BenchRecorder.Stages"/> order, over the jobs whose
    /// record carried the server's timestamps; null when none did.
    /// </summary>
    public IReadOnlyDictionary<string, LatencySummary>? Stages { get; init; }

    /// <summary>Mean size of the batches those jobs ran in (from their records' timings); null when unknown.</summary>
    public double? MeanBatchSize { get; init; }
}

public sealed record LatencySummary(long Count, double Min, double P50, double P90, double P99, double P999, double Max, double Mean)
{
    public static LatencySummary From(LatencyHistogram h) => new(
        h.Count,
        Ms(h.Count == 0 ? 0 : h.MinMicroseconds),
        Ms(h.ValueAtPercentile(50)),
        Ms(h.ValueAtPercentile(90)),
        Ms(h.ValueAtPercentile(99)),
        Ms(h.ValueAtPercentile(99.9)),
        Ms(h.MaxMicroseconds),
        Math.Round(h.MeanMicroseconds / 1000, 3));

    private static double Ms(long microseconds) => Math.Round(microseconds / 1000.0, 3);
}

/// <summary>Jobs finished in second <c>Second</c> of the measured window (successes, failures) and their latency.</summary>
public sealed record TimelinePoint(int Second, long Succeeded, long Failed, double P50, double P99, double Max);

public sealed record HistogramBucket(double LowMs, double HighMs, long Count);
