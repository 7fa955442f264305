using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace ServiceDefaults.Telemetry;

/// <summary>
/// The job metrics of a service, recorded twice from one call: as System.Diagnostics.Metrics
/// instruments (exported over OTLP when configured) and as Prometheus families with Triton's names,
/// written by hand at <c>/metrics</c> (text format 0.0.4) so existing scrapers and boards work.
/// </summary>
public sealed class InferenceMetrics : IDisposable
{
    public const string MeterName = Microsoft.Extensions.Hosting.ServiceDefaultsExtensions.SourcePrefix + ".Jobs";

    private static readonly double[] LatencyBoundsMs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000];
    private static readonly double[] BatchSizeBounds = [1, 2, 4, 8, 16, 32, 64];

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _succeeded;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _executions;
    private readonly Histogram<double> _queueDuration;
    private readonly Histogram<double> _computeDuration;
    private readonly Histogram<int> _batchSize;
    private readonly ConcurrentDictionary<string, Func<long>> _pending = new(StringComparer.Ordinal);

    private readonly PrometheusFamily _promAccepted = new("aspire_inference_jobs_accepted_total", "counter", "Jobs the gateway accepted (stored and confirmed by the broker).");
    private readonly PrometheusFamily _promRejected = new("aspire_inference_jobs_rejected_total", "counter", "Jobs the gateway refused, by reason.");
    private readonly PrometheusFamily _promSuccess = new("nv_inference_request_success", "counter", "Number of successful inference jobs.");
    private readonly PrometheusFamily _promFailure = new("nv_inference_request_failure", "counter", "Number of failed inference jobs, by reason.");
    private readonly PrometheusFamily _promCount = new("nv_inference_count", "counter", "Number of inferences performed (a batch of n counts n).");
    private readonly PrometheusFamily _promExecCount = new("nv_inference_exec_count", "counter", "Number of model executions (batches).");
    private readonly PrometheusFamily _promQueueUs = new("nv_inference_queue_duration_us", "counter", "Cumulative time jobs waited from acceptance to start, in microseconds.");
    private readonly PrometheusFamily _promComputeUs = new("nv_inference_compute_infer_duration_us", "counter", "Cumulative compute time of jobs (their share of the batch), in microseconds.");
    private readonly PrometheusHistogram _promQueueMs = new("aspire_inference_queue_duration_ms", "Time from acceptance to start of a job, in milliseconds.", LatencyBoundsMs);
    private readonly PrometheusHistogram _promComputeMs = new("aspire_inference_compute_duration_ms", "Compute time of a job (its batch's run), in milliseconds.", LatencyBoundsMs);
    private readonly PrometheusHistogram _promBatchSize = new("aspire_inference_batch_size", "Jobs per model execution.", BatchSizeBounds);

    public InferenceMetrics()
    {
        _accepted = _meter.CreateCounter<long>("aspire.inference.jobs.accepted", "{job}", "Jobs the gateway accepted.");
        _rejected = _meter.CreateCounter<long>("aspire.inference.jobs.rejected", "{job}", "Jobs the gateway refused.");
        _succeeded = _meter.CreateCounter<long>("aspire.inference.jobs.succeeded", "{job}", "Jobs that succeeded.");
        _failed = _meter.CreateCounter<long>("aspire.inference.jobs.failed", "{job}", "Jobs that failed or expired.");
        _executions = _meter.CreateCounter<long>("aspire.inference.batches", "{batch}", "Model executions.");
        _queueDuration = _meter.CreateHistogram<double>("aspire.inference.jobs.queue_duration", "ms", "Acceptance to start.");
        _computeDuration = _meter.CreateHistogram<double>("aspire.inference.jobs.compute_duration", "ms", "Compute time of a job's batch.");
        _batchSize = _meter.CreateHistogram<int>("aspire.inference.batch_size", "{job}", "Jobs per model execution.");
        _meter.CreateObservableGauge("aspire.inference.jobs.pending", () =>
            _pending.Select(p => new Measurement<long>(p.Value(), new KeyValuePair<string, object?>("model", p.Key))), "{job}", "Jobs received by the worker, not yet finished.");
    }

    public void JobAccepted(string model)
    {
        _accepted.Add(1, new KeyValuePair<string, object?>("model", model));
        _promAccepted.Add(1, ("model", model));
    }

    public void JobRejected(string model, string reason)
    {
        _rejected.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", reason));
        _promRejected.Add(1, ("model", model), ("reason", reason));
    }

    /// <summary>One model execution of <paramref name="size"/> jobs.</summary>
    public void BatchExecuted(string model, string version, int size)
    {
        _executions.Add(1, new KeyValuePair<string, object?>("model", model));
        _batchSize.Record(size, new KeyValuePair<string, object?>("model", model));
        _promExecCount.Add(1, ("model", model), ("version", version));
        _promCount.Add(size, ("model", model), ("version", version));
        _promBatchSize.Observe(size, ("model", model));
    }

    /// <summary>A job that ran: succeeded, or failed with <paramref name="failureReason"/>.</summary>
    public void JobFinished(string model, string version, double queueMs, double computeMs, string? failureReason)
    {
        var tags = new KeyValuePair<string, object?>("model", model);
        _queueDuration.Record(queueMs, tags);
        _computeDuration.Record(computeMs, tags);
        _promQueueUs.Add(queueMs * 1000, ("model", model), ("version", version));
        _promComputeUs.Add(computeMs * 1000, ("model", model), ("version", version));
        _promQueueMs.Observe(queueMs, ("model", model));
        _promComputeMs.Observe(computeMs, ("model", model));
        if (failureReason is null)
        {
            _succeeded.Add(1, tags);
            _promSuccess.Add(1, ("model", model), ("version", version));
        }
        else
        {
            JobFailed(model, version, failureReason);
        }
    }

    /// <summary>A job that ended without running (e.g. expired before its start).</summary>
    public void JobFailed(string model, string version, string reason)
    {
        _failed.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("reason", reason));
        _promFailure.Add(1, ("model", model), ("version", version), ("reason", reason));
    }

    /// <summary>Reports the jobs a model holds (received, not finished) from <paramref name="pending"/>.</summary>
    public void ObservePending(string model, Func<long> pending) => _pending[model] = pending;

    /// <summary>Every family in Prometheus text exposition format 0.0.4.</summary>
    public string WritePrometheusText()
    {
        var text = new StringBuilder();
        foreach (var family in new[] { _promAccepted, _promRejected, _promSuccess, _promFailure, _promCount, _promExecCount, _promQueueUs, _promComputeUs })
        {
            family.Write(text);
        }
        text.Append("# HELP nv_inference_pending_request_count Jobs received by the worker, not yet finished.\n# TYPE nv_inference_pending_request_count gauge\n");
        foreach (var (model, pending) in _pending.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"nv_inference_pending_request_count{{model=\"{PrometheusFamily.Escape(model)}\"}} {pending()}\n");
        }
        foreach (var histogram in new[] { _promQueueMs, _promComputeMs, _promBatchSize })
        {
            histogram.Write(text);
        }
        WriteProcess(text);
        return text.ToString();
    }

    /// <summary>Process counters with the names prometheus-net uses, so a benchmark can divide their deltas by the jobs done (bytes allocated per job).</summary>
    private static void WriteProcess(StringBuilder text)
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        text.Append("# HELP dotnet_total_memory_bytes_allocated Bytes allocated on the managed heap since the process started.\n# TYPE dotnet_total_memory_bytes_allocated counter\n");
        text.Append(CultureInfo.InvariantCulture, $"dotnet_total_memory_bytes_allocated {GC.GetTotalAllocatedBytes(precise: false)}\n");
        text.Append("# HELP dotnet_collection_count_total Garbage collections per generation.\n# TYPE dotnet_collection_count_total counter\n");
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            text.Append(CultureInfo.InvariantCulture, $"dotnet_collection_count_total{{generation=\"{generation}\"}} {GC.CollectionCount(generation)}\n");
        }
        text.Append("# HELP process_cpu_seconds_total CPU time of the process (user + system).\n# TYPE process_cpu_seconds_total counter\n");
        text.Append(CultureInfo.InvariantCulture, $"process_cpu_seconds_total {PrometheusFamily.Format(process.TotalProcessorTime.TotalSeconds)}\n");
        text.Append("# HELP process_resident_memory_bytes Resident memory of the process.\n# TYPE process_resident_memory_bytes gauge\n");
        text.Append(CultureInfo.InvariantCulture, $"process_resident_memory_bytes {process.WorkingSet64}\n");
    }

    public void Dispose() => _meter.Dispose();
}

/// <summary>A counter family: one value per label set.</summary>
internal sealed class PrometheusFamily(string name, string type, string help)
{
    private readonly ConcurrentDictionary<string, double> _values = new(StringComparer.Ordinal);

    public void Add(double value, params (string Name, string Value)[] labels) =>
        _values.AddOrUpdate(Labels(labels), value, (_, v) => v + value);

    public void Write(StringBuilder text)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        foreach (var (labels, value) in _values.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{{labels}}} {Format(value)}\n");
        }
    }

    public static string Labels((string Name, string Value)[] labels) =>
        string.Join(",", labels.Select(l => $"{l.Name}=\"{Escape(l.Value)}\""));

    public static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    public static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A histogram family with fixed upper bounds, cumulative buckets as Prometheus expects.</summary>
internal sealed class PrometheusHistogram(string name, string help, double[] bounds)
{
    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);

    public void Observe(double value, params (string Name, string Value)[] labels)
    {
        var series = _series.GetOrAdd(PrometheusFamily.Labels(labels), _ => new Series(bounds.Length));
        lock (series)
        {
            var i = Array.FindIndex(bounds, b => value <= b);
            series.Buckets[i < 0 ? bounds.Length : i]++;
            series.Sum += value;
            series.Count++;
        }
    }

    public void Write(StringBuilder text)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} histogram\n");
        foreach (var (labels, series) in _series.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            lock (series)
            {
                var cumulative = 0L;
                for (var i = 0; i <= bounds.Length; i++)
                {
                    cumulative += series.Buckets[i];
                    var le = i < bounds.Length ? PrometheusFamily.Format(bounds[i]) : "+Inf";
                    text.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}\n");
                }
                text.Append(CultureInfo.InvariantCulture, $"{name}_sum{{{labels}}} {PrometheusFamily.Format(series.Sum)}\n");
                text.Append(CultureInfo.InvariantCulture, $"{name}_count{{{labels}}} {series.Count}\n");
            }
        }
    }

    private sealed class Series(int bounds)
    {
        public long[] Buckets { get; } = new long[bounds + 1];

        public double Sum { get; set; }

        public long Count { get; set; }
    }
}
