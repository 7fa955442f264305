// The side-by-side benchmark's ceiling (a): Engine in-process with ideal batching — full batches of the same
// input, back to back, no network, no broker, no store. One runner per thread, as many as the system has workers.
using System.Diagnostics;
using System.Globalization;
using Engine.Inference;
using Engine.Models;

var model = Arg("--model") ?? "ocr-cls";
var bucket = Arg("--models") ?? "models";
var input = Arg("--input") ?? throw new ArgumentException("--input FILE is required");
var seconds = double.Parse(Arg("--duration") ?? "20", CultureInfo.InvariantCulture);
var warmup = double.Parse(Arg("--warmup") ?? "5", CultureInfo.InvariantCulture);
var runners = int.Parse(Arg("--runners") ?? "2", CultureInfo.InvariantCulture);
var threads = int.Parse(Arg("--intra-op-threads") ?? "1", CultureInfo.InvariantCulture);

var catalog = ModelCatalog.Scan(bucket);
var definition = catalog.Find(model)?.Latest?.Definition
    ?? throw new InvalidOperationException($"model '{model}' has no valid version in '{bucket}'");
var bytes = File.ReadAllBytes(input);

// One factory per runner: a factory caches one runner per model version, and a runner runs one batch at a time.
var factories = Enumerable.Range(0, runners).Select(_ => new ModelRunnerFactory(catalog, new RunnerOptions(threads))).ToList();
var models = factories.Select(f => f.Create(definition)).ToList();
var batchSize = int.Parse(Arg("--batch") ?? models[0].MaxBatchSize.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
var batch = Enumerable.Range(0, batchSize).Select(i => new JobInput($"job-{i}", "image", bytes)).ToArray();

var results = models[0].Run(batch);
if (!results.All(r => r.Succeeded))
{
    Console.Error.WriteLine($"ceiling: the input fails on {model}: {results.First(r => !r.Succeeded).ErrorMessage}");
    return 2;
}

long jobs = 0;
// Each measured run's duration: with --batch 1 --runners 1 its median is the single-inference time (decode included)
// that the open-loop latency target is stated against.
var runTimes = new System.Collections.Concurrent.ConcurrentBag<double>();
long allocatedAtStart = 0;
var clock = Stopwatch.StartNew();
var measureFrom = TimeSpan.FromSeconds(warmup);
var end = measureFrom + TimeSpan.FromSeconds(seconds);
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

var allocatedPerJob = jobs == 0 ? 0 : (GC.GetTotalAllocatedBytes() - allocatedAtStart) / (double)jobs;
var jobsPerSecond = jobs / seconds;
var sorted = runTimes.Order().ToArray();
double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"ceiling: model={model} runners={runners} intra_op_threads={threads} batch={batchSize} jobs={jobs} seconds={seconds} jobs_per_s={jobsPerSecond:0.0} run_ms_p50={Percentile(0.5):0.00} run_ms_p99={Percentile(0.99):0.00} managed_kib_per_job={allocatedPerJob / 1024:0.0}"));
foreach (var factory in factories)
{
    factory.Dispose();
}
return 0;

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
