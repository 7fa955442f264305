namespace Client.Bench;

/// <summary>
/// A log-bucketed latency histogram in the style of HdrHistogram: values (microseconds) fall into buckets whose
/// width is at most 1/128 of their lower bound, so any percentile is reported within ~0.8 % of the true value.
/// The exact minimum and maximum are kept. Not thread-safe; record into one per thread and <see cref="Merge"/>.
/// </summary>
public sealed class LatencyHistogram
{
    // 2^7 = 128 sub-buckets per power of two: relative bucket width ≤ 1/128.
    private const int SubBucketBits = 7;
    private const int SubBuckets = 1 << SubBucketBits;
    // Values up to 2^40 µs (~12 days) are representable; larger ones are clamped into the last bucket.
    private const int Magnitudes = 40 - SubBucketBits + 1;

    private readonly long[] _counts = new long[(Magnitudes + 1) * SubBuckets];

    public long Count { get; private set; }

    public long MinMicroseconds { get; private set; } = long.MaxValue;

    public long MaxMicroseconds { get; private set; }

    public double MeanMicroseconds => Count == 0 ? 0 : (double)_sum / Count;

    private double _sum;

    public void Record(TimeSpan latency) => Record((long)Math.Round(latency.Ticks / (double)TimeSpan.TicksPerMicrosecond));

    public void Record(long microseconds)
    {
        microseconds = Math.Max(0, microseconds);
        _counts[Index(microseconds)]++;
        Count++;
        _sum += microseconds;
        MinMicroseconds = Math.Min(MinMicroseconds, microseconds);
        MaxMicroseconds = Math.Max(MaxMicroseconds, microseconds);
    }

    public void Merge(LatencyHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        for (var i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }
        Count += other.Count;
        _sum += other._sum;
        if (other.Count > 0)
        {
            MinMicroseconds = Math.Min(MinMicroseconds, other.MinMicroseconds);
            MaxMicroseconds = Math.Max(MaxMicroseconds, other.MaxMicroseconds);
        }
    }

    /// <summary>
    /// The value at <paramref name="percentile"/> (0–100): the midpoint of the bucket holding the rank-th
    /// smallest value, clamped to the recorded min and max (so p100 is the exact maximum).
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        if (Count == 0)
        {
            return 0;
        }
        // The small tolerance keeps 99.9 % of 1000 at rank 999 despite binary floating point.
        var rank = Math.Max(1, (long)Math.Ceiling(Math.Clamp(percentile, 0, 100) / 100 * Count - 1e-9));
        if (rank >= Count)
        {
            return MaxMicroseconds;
        }
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                var (low, high) = Bounds(i);
                return Math.Clamp(low + (high - low) / 2, MinMicroseconds, MaxMicroseconds);
            }
        }
        return MaxMicroseconds;
    }

    /// <summary>Non-empty buckets as (lower bound µs, upper bound µs exclusive, count), in increasing order.</summary>
    public IEnumerable<(long Low, long High, long Count)> Buckets()
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            if (_counts[i] > 0)
            {
                var (low, high) = Bounds(i);
                yield return (low, high, _counts[i]);
            }
        }
    }

    // Bucket layout: values below 2*SubBuckets map one-to-one (width 1 or 2 µs); above, each power of two
    // [2^k, 2^(k+1)) is split into SubBuckets equal parts.
    private static int Index(long value)
    {
        if (value < SubBuckets)
        {
            return (int)value;
        }
        var magnitude = 63 - (int)long.LeadingZeroCount(value) - SubBucketBits + 1; // ≥ 1
        if (magnitude > Magnitudes)
        {
            return (Magnitudes + 1) * SubBuckets - 1;
        }
        var sub = (int)(value >> (magnitude - 1)) - SubBuckets; // 0..SubBuckets-1
        return magnitude * SubBuckets + sub;
    }

    private static (long Low, long High) Bounds(int index)
    {
        var magnitude = index / SubBuckets;
        var sub = index % SubBuckets;
        if (magnitude == 0)
        {
            return (sub, sub + 1);
        }
        var width = 1L << (magnitude - 1);
        var low = (SubBuckets + (long)sub) * width;
        return (low, low + width);
    }
}
