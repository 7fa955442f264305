using System.Globalization;

namespace AppHost.Dashboard;

/// <summary>One sample of Prometheus text exposition format 0.0.4.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A parser for the text format (enough for what the services expose, strict about syntax).</summary>
public static class PrometheusText
{
    public static List<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var i = 0;
            while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':'))
            {
                i++;
            }
            if (i == 0 || char.IsAsciiDigit(line[0]))
            {
                throw new FormatException($"Bad metric name: {line}");
            }
            var name = line[..i];
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var label = line[i..eq];
                    if (line[eq + 1] != '"')
                    {
                        throw new FormatException($"Label value not quoted: {line}");
                    }
                    var value = new System.Text.StringBuilder();
                    var j = eq + 2;
                    for (; line[j] != '"'; j++)
                    {
                        if (line[j] == '\\')
                        {
                            j++;
                            value.Append(line[j] == 'n' ? '\n' : line[j]);
                        }
                        else
                        {
                            value.Append(line[j]);
                        }
                    }
                    labels[label] = value.ToString();
                    i = j + 1;
                    if (line[i] == ',')
                    {
                        i++;
                    }
                }
                i++;
            }
            var parts = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is 0 or > 2)
            {
                throw new FormatException($"Bad sample: {line}");
            }
            samples.Add(new PrometheusSample(name, labels, ParseValue(parts[0])));
        }
        return samples;
    }

    public static double ParseValue(string value) => value switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}

/// <summary>The services' counters and histograms summed over replicas, for rates and percentiles.</summary>
internal sealed class PrometheusTotals
{
    public double Accepted { get; private set; }

    public Histogram QueueWait { get; private init; } = new();

    public Histogram Compute { get; private init; } = new();

    public Histogram BatchSizes { get; private init; } = new();

    public void Add(List<PrometheusSample> samples)
    {
        foreach (var s in samples)
        {
            switch (s.Name)
            {
                case "aspire_inference_jobs_accepted_total":
                    Accepted += s.Value;
                    break;
                case "aspire_inference_queue_duration_ms_bucket":
                    QueueWait.Add(s.Labels["le"], s.Value);
                    break;
                case "aspire_inference_compute_duration_ms_bucket":
                    Compute.Add(s.Labels["le"], s.Value);
                    break;
                case "aspire_inference_batch_size_bucket":
                    BatchSizes.Add(s.Labels["le"], s.Value);
                    break;
            }
        }
    }

    /// <summary>What grew since <paramref name="previous"/>; counters that went back (a restart) count from zero.</summary>
    public PrometheusTotals Minus(PrometheusTotals? previous) => previous is null
        ? new PrometheusTotals()
        : new PrometheusTotals
        {
            Accepted = Accepted >= previous.Accepted ? Accepted - previous.Accepted : Accepted,
            QueueWait = QueueWait.Minus(previous.QueueWait),
            Compute = Compute.Minus(previous.Compute),
            BatchSizes = BatchSizes.Minus(previous.BatchSizes),
        };

    /// <summary>Cumulative bucket counts by upper bound.</summary>
    internal sealed class Histogram
    {
        private readonly SortedDictionary<double, double> _buckets = [];

        public void Add(string le, double count)
        {
            var bound = PrometheusText.ParseValue(le);
            _buckets[bound] = _buckets.GetValueOrDefault(bound) + count;
        }

        public Histogram Minus(Histogram previous)
        {
            var result = new Histogram();
            foreach (var (bound, count) in _buckets)
            {
                var before = previous._buckets.GetValueOrDefault(bound);
                result._buckets[bound] = count >= before ? count - before : count;
            }
            return result;
        }

        public LatencySummary? Summarize()
        {
            var total = _buckets.Count == 0 ? 0 : _buckets.Values.Max();
            return total <= 0 ? null : new LatencySummary(Quantile(0.5, total), Quantile(0.95, total), Quantile(0.99, total));
        }

        /// <summary>Jobs per bucket (not cumulative), keyed by upper bound.</summary>
        public IReadOnlyDictionary<string, double> Distribution()
        {
            var result = new Dictionary<string, double>(StringComparer.Ordinal);
            var below = 0.0;
            foreach (var (bound, count) in _buckets)
            {
                if (count - below > 0)
                {
                    result[double.IsPositiveInfinity(bound) ? "+Inf" : bound.ToString(CultureInfo.InvariantCulture)] = count - below;
                }
                below = Math.Max(below, count);
            }
            return result;
        }

        // Linear interpolation inside the bucket, as Prometheus' histogram_quantile does.
        private double Quantile(double q, double total)
        {
            var rank = q * total;
            var lower = 0.0;
            var below = 0.0;
            foreach (var (bound, count) in _buckets)
            {
                if (count >= rank)
                {
                    if (double.IsPositiveInfinity(bound))
                    {
                        return lower;
                    }
                    var inBucket = count - below;
                    return inBucket <= 0 ? bound : lower + ((bound - lower) * (rank - below) / inBucket);
                }
                lower = bound;
                below = count;
            }
            return lower;
        }
    }
}
