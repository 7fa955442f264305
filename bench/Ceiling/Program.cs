// The side-by-side benchmark's ceiling (a): Engine in-process with ideal batching — batches of the same input, back to
// back, no network, no broker, no store. One runner per thread, as many as the system has workers. "Ideal" is measured,
// not assumed: with --batch auto (the default) each power-of-two batch size up to the manifest's maximum is tried
// briefly and the fastest one is measured (on CPU a big batch can be slower per job: its tensors overflow the caches).
// `--execution-provider cpu|cuda --device-id N` picks what a worker's Worker__ExecutionProvider / Worker__DeviceId pick
// (cuda needs the GPU flavour: bench/gpu-check.sh builds and runs it).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Engine.Inference;
using Engine.Models;
using Engine.Onnx;

var model = Arg("--model") ?? "ocr-cls";
var bucket = Arg("--models") ?? "models";
var input = Arg("--input") ?? throw new ArgumentException("--input FILE is required");
var seconds = double.Parse(Arg("--duration") ?? "20", CultureInfo.InvariantCulture);
var warmup = double.Parse(Arg("--warmup") ?? "5", CultureInfo.InvariantCulture);
var runners = int.Parse(Arg("--runners") ?? "2", CultureInfo.InvariantCulture);
var threads = int.Parse(Arg("--intra-op-threads") ?? "1", CultureInfo.InvariantCulture);
var sweepSeconds = double.Parse(Arg("--sweep-seconds") ?? "3", CultureInfo.InvariantCulture);
// cpu (default) or cuda, and the CUDA device: what a worker's Worker__ExecutionProvider / Worker__DeviceId select.
if (!Enum.TryParse<ExecutionProvider>(Arg("--execution-provider") ?? "cpu", ignoreCase: true, out var provider)
    || !Enum.IsDefined(provider))
{
    Console.Error.WriteLine($"ceiling: --execution-provider takes cpu or cuda, not '{Arg("--execution-provider")}'");
    return 2;
}
var deviceId = int.Parse(Arg("--device-id") ?? "0", CultureInfo.InvariantCulture);
var runnerOptions = new RunnerOptions(threads, provider, deviceId);
try
{
    runnerOptions.SessionOptions.EnsureExecutionProvider();
}
catch (OnnxRuntimeException e)
{
    Console.Error.WriteLine($"ceiling: --execution-provider {provider.ToString().ToLowerInvariant()} cannot run here: {e.Message.ReplaceLineEndings(" ")}");
    return 2;
}

var catalog = ModelCatalog.Scan(bucket);
var definition = catalog.Find(model)?.Latest?.Definition
    ?? throw new InvalidOperationException($"model '{model}' has no valid version in '{bucket}'");
var bytes = File.ReadAllBytes(input);

// One factory per runner: a factory caches one runner per model version, and a runner runs one batch at a time.
var factories = Enumerable.Range(0, runners).Select(_ => new ModelRunnerFactory(catalog, runnerOptions)).ToList();
var models = factories.Select(f => f.Create(definition)).ToList();
var maxBatch = Math.Max(models[0].MaxBatchSize, 1);

var check = models[0].Run([new JobInput("check", "image", bytes)]);
if (!check.All(r => r.Succeeded))
{
    Console.Error.WriteLine($"ceiling: the input fails on {model}: {check.First(r => !r.Succeeded).ErrorMessage}");
    return 2;
}

int batchSize;
if (Arg("--batch") is { } given && given != "auto")
{
    batchSize = int.Parse(given, CultureInfo.InvariantCulture);
}
else
{
    // Every power of two up to the manifest's maximum batch (and the maximum itself), each for a short run.
    var candidates = Enumerable.Range(0, 16).Select(i => 1 << i).TakeWhile(b => b < maxBatch).Append(maxBatch).Distinct().ToList();
    var best = (Batch: 1, Rate: 0.0);
    foreach (var candidate in candidates)
    {
        var trial = Measure(candidate, 1, sweepSeconds);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ceiling-sweep: model={model} runners={runners} batch={candidate} jobs_per_s={trial.JobsPerSecond:0.0}"));
        if (trial.JobsPerSecond > best.Rate)
        {
            best = (candidate, trial.JobsPerSecond);
        }
    }
    batchSize = best.Batch;
}

var result = Measure(batchSize, warmup, seconds);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"ceiling: model={model} provider={provider.ToString().ToLowerInvariant()} device={deviceId} runners={runners} intra_op_threads={threads} batch={batchSize} max_batch={maxBatch} jobs={result.Jobs} seconds={seconds} " +
    $"jobs_per_s={result.JobsPerSecond:0.0} run_ms_p50={result.RunP50:0.00} run_ms_p99={result.RunP99:0.00} managed_kib_per_job={result.KibPerJob:0.0}"));
foreach (var factory in factories)
{
    factory.Dispose();
}
return 0;

// Every runner runs batches of `size` for warm-up + duration seconds; counts jobs of runs that started after the warm-up
// and finished in the window. Each run's duration: with batch 1 and one runner its median is the single-inference time
// (decode included) that the open-loop latency target is stated against.
(long Jobs, double JobsPerSecond, double RunP50, double RunP99, double KibPerJob) Measure(int size, double warmupSeconds, double durationSeconds)
{
    var batch = Enumerable.Range(0, size).Select(i => new JobInput($"job-{i}", "image", bytes)).ToArray();
    long jobs = 0;
    long allocatedAtStart = 0;
    var runTimes = new ConcurrentBag<double>();
    var measureFrom = TimeSpan.FromSeconds(warmupSeconds);
    var end = measureFrom + TimeSpan.FromSeconds(durationSeconds);
    var clock = Stopwatch.StartNew();
    var threadsDone = models.Select(runner => Task.Factory.StartNew(() =>
    {
        while (clock.Elapsed < end)
        {
            var started = clock.Elapsed;
            if (started >= measureFrom)
            {
                // The first runner into the measured window marks where allocation counting starts.
                Interlocked.CompareExchange(ref allocatedAtStart, GC.GetTotalAllocatedBytes(), 0);
            }
            runner.Run(batch);
            var finished = clock.Elapsed;
            if (started >= measureFrom && finished <= end)
            {
                Interlocked.Add(ref jobs, batch.Length);
                runTimes.Add((finished - started).TotalMilliseconds);
            }
        }
    }, TaskCreationOptions.LongRunning)).ToArray();
    Task.WaitAll(threadsDone);

    var sorted = runTimes.Order().ToArray();
    double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    var kib = jobs == 0 ? 0 : (GC.GetTotalAllocatedBytes() - allocatedAtStart) / (double)jobs / 1024;
    return (jobs, jobs / durationSeconds, Percentile(0.5), Percentile(0.99), kib);
}

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
