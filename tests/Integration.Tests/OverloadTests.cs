using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>
/// Arrival at three times capacity for 30 s: the long test of the suite (~40 s). What a client sees: the excess is
/// refused at once with a retryable answer, everything accepted finishes, memory stays bounded, latency comes back.
/// The queue is full within seconds of the burst's start; the rest holds the overload (about 10,000 requests here).
/// </summary>
public sealed class OverloadTests(SystemFixture system)
{
    private const string Model = "ocr-cls";
    private static readonly TimeSpan Burst = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Growth of a replica's RSS over the burst that still counts as bounded, per second of burst: 600 MB over the minute
    /// the burst once lasted. A leak per request grows with the requests, so it is judged at the same rate whatever the
    /// burst's length; the ONNX Runtime arena's one-off growth to the largest batch (about 130 MB) fits well within it.
    /// </summary>
    private const long GrowthPerBurstSecondKb = 10 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    [Trait("Duration", "Long")]
    public async Task Three_times_capacity_for_thirty_seconds_refuses_the_excess_fast_finishes_every_accepted_job_and_recovers()
    {
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256 };
        using var http = new GatewayHttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        var gateways = new[] { system.Gateway(0), system.Gateway(1) };
        var image = Fixtures.Bytes("line-003.png");
        var output = TestContext.Current.TestOutputHelper;

        var latencyBefore = await MedianPredictAsync(http, gateways[0], image);
        var rssBefore = Rss();

        // Capacity: jobs finished per second with 32 clients each submitting and waiting for its result, for 5 s.
        var capacity = await MeasureCapacityAsync(http, gateways, image, TimeSpan.FromSeconds(5));
        var rate = 3 * capacity;

        // Open loop: arrivals on a fixed schedule, whatever the answers; nothing waits for anything.
        var ledger = new JobLedger();
        var statuses = new ConcurrentDictionary<int, int>();
        var refusalMs = new ConcurrentBag<double>();
        var unexpected = new ConcurrentBag<string>();
        var rssPeak = new Dictionary<string, long>(rssBefore);
        var requests = new List<Task>();
        var clock = Stopwatch.StartNew();
        long sent = 0;
        var nextSample = TimeSpan.Zero;
        while (clock.Elapsed < Burst)
        {
            var due = (long)(clock.Elapsed.TotalSeconds * rate);
            for (; sent < due; sent++)
            {
                requests.Add(SubmitAsync(gateways[sent % 2]));
            }
            if (clock.Elapsed >= nextSample)
            {
                foreach (var (name, rss) in Rss())
                {
                    rssPeak[name] = Math.Max(rssPeak.GetValueOrDefault(name), rss);
                }
                nextSample += TimeSpan.FromSeconds(1);
            }
            await Task.Delay(5, Ct);
        }
        await Task.WhenAll(requests);
        var burstTook = clock.Elapsed;

        // Every accepted job reaches a terminal state.
        var readers = gateways.Select(g => new GatewayHttpClient(handler, disposeHandler: false) { BaseAddress = g }).ToArray();
        await Parallel.ForEachAsync(ledger.Ids, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = Ct }, async (id, _) =>
            ledger.Observe(await Http.WaitTerminalAsync(readers[id[0] % 2], id, 120)));
        var report = ledger.Tally();
        await Task.Delay(2000, Ct);
        var rssAfter = Rss();
        var latencyAfter = await MedianPredictAsync(http, gateways[0], image);

        var refusals = refusalMs.OrderBy(x => x).ToArray();
        output?.WriteLine($"capacity {capacity:0} jobs/s; offered {rate:0} jobs/s for {Burst.TotalSeconds:0} s ({sent} requests, sent in {burstTook.TotalSeconds:0.0} s)");
        output?.WriteLine($"answers: {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}");
        output?.WriteLine($"refusal latency ms: p50 {Percentile(refusals, 0.5):0} p99 {Percentile(refusals, 0.99):0} max {(refusals.Length == 0 ? 0 : refusals[^1]):0}");
        output?.WriteLine(report.ToString());
        output?.WriteLine($"predict p50 before {latencyBefore:0} ms, after {latencyAfter:0} ms");
        foreach (var (name, before) in rssBefore)
        {
            output?.WriteLine($"RSS {name}: before {before / 1024} MB, peak {rssPeak[name] / 1024} MB, after {rssAfter.GetValueOrDefault(name) / 1024} MB");
        }

        Assert.Empty(unexpected);
        Assert.True(refusals.Length > 0, "nothing was refused: the system was not overloaded");
        Assert.True(refusals[^1] < 10_000, $"a refusal took {refusals[^1]:0} ms");
        Assert.Equal(0, report.Lost);
        Assert.Equal(report.Acknowledged, report.Succeeded);
        var growthBound = (long)(GrowthPerBurstSecondKb * Burst.TotalSeconds);
        foreach (var (name, before) in rssBefore)
        {
            // Bounded: the queue cap and the refusals keep work in hand (and so memory) limited, whatever the offered load.
            Assert.True(rssPeak[name] < before + growthBound,
                $"{name} grew from {before / 1024} MB to {rssPeak[name] / 1024} MB (bound: +{growthBound / 1024} MB over {Burst.TotalSeconds:0} s)");
        }
        Assert.True(latencyAfter <= Math.Max(3 * latencyBefore, latencyBefore + 250), $"latency {latencyBefore:0} ms before, {latencyAfter:0} ms after");

        async Task SubmitAsync(Uri gateway)
        {
            await Task.Yield();
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var response = await http.PostAsync(new Uri(gateway, $"/v1/models/{Model}/jobs"), Http.Body(image), Ct);
                statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    ledger.Acknowledged((await response.ReadJobAsync()).Id);
                    return;
                }
                refusalMs.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                var code = (await response.ReadJsonAsync()).GetProperty("code").GetString();
                if (response.StatusCode is not (HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) || response.Headers.RetryAfter is null)
                {
                    unexpected.Add($"{(int)response.StatusCode} {code} Retry-After {response.Headers.RetryAfter}");
                }
            }
            catch (HttpRequestException e)
            {
                unexpected.Add($"request failed: {e.Message}");
            }
        }
    }

    private async Task<double> MeasureCapacityAsync(HttpClient http, Uri[] gateways, byte[] image, TimeSpan duration)
    {
        var finished = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 32).Select(async i =>
        {
            while (clock.Elapsed < duration)
            {
                using var response = await http.PostAsync(new Uri(gateways[i % 2], $"/v1/models/{Model}/jobs"), Http.Body(image), Ct);
                if (response.StatusCode != HttpStatusCode.Accepted)
                {
                    continue;
                }
                var id = (await response.ReadJobAsync()).Id;
                using var read = await http.GetAsync(new Uri(gateways[i % 2], $"/v1/jobs/{id}?wait=30"), Ct);
                if ((await read.ReadJobAsync()).Status == JobStatus.Succeeded)
                {
                    Interlocked.Increment(ref finished);
                }
            }
        }));
        return finished / clock.Elapsed.TotalSeconds;
    }

    private static async Task<double> MedianPredictAsync(HttpClient http, Uri gateway, byte[] image)
    {
        var ms = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            var started = Stopwatch.GetTimestamp();
            using var response = await http.PostAsync(new Uri(gateway, $"/v1/models/{Model}/predict"), Http.Body(image), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            ms.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        ms.Sort();
        return ms[ms.Count / 2];
    }

    /// <summary>Resident memory (kB, VmRSS) of every gateway and worker replica, by replica name.</summary>
    private Dictionary<string, long> Rss()
    {
        var rss = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var replica in system.Aspire.Replicas("gateway").Concat(system.Aspire.Replicas("worker")).Where(s => s.ServicePid is not null))
        {
            try
            {
                var line = File.ReadLines($"/proc/{replica.ServicePid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                if (line is not null)
                {
                    rss[replica.Id] = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
                // The process just exited; the next sample sees its replacement.
            }
        }
        return rss;
    }

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
