using System.Diagnostics;
using System.Net;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>What operators see: the Prometheus <c>/metrics</c> of every replica, and one trace per job over OTLP.</summary>
public sealed class ObservabilityTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_parse_as_prometheus_text_and_their_counters_match_the_jobs_the_test_ran()
    {
        var before = await ScrapeAllAsync();
        using var http0 = new GatewayHttpClient { BaseAddress = system.Gateway(0) };
        using var http1 = new GatewayHttpClient { BaseAddress = system.Gateway(1) };
        var images = new[] { "line-001.png", "line-002.jpg", "line-003.webp", "line-004.png", "line-005.jpg", "line-006.png" };
        var ids = new List<string>();
        for (var i = 0; i < images.Length; i++)
        {
            using var response = await (i % 2 == 0 ? http0 : http1).PostAsync("/v1/models/ocr-cls/jobs", Http.Body(Fixtures.Bytes(images[i])), Ct);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            ids.Add((await response.ReadJobAsync()).Id);
        }
        // Sniffed as PNG by the gateway, undecodable in the worker: a job that fails there with a client-error code.
        using (var bad = await http0.PostAsync("/v1/models/ocr-cls/jobs", Http.Body(Fixtures.CorruptPng()), Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, bad.StatusCode);
            ids.Add((await bad.ReadJobAsync()).Id);
        }
        // Every run of "faulty" throws: retried up to the delivery limit, dead-lettered, then failed by the worker's
        // dead-letter consumer — counted as one failure with its own reason, not once per attempt.
        string faultyId;
        using (var faulty = await http1.PostAsync("/v1/models/faulty/jobs", Http.Body(Fixtures.Bytes(images[0])), Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, faulty.StatusCode);
            faultyId = (await faulty.ReadJobAsync()).Id;
        }
        // Unknown model: refused at the gateway, never accepted.
        using (var refused = await http1.PostAsync("/v1/models/no-such-model/jobs", Http.Body(Fixtures.Bytes(images[0])), Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        }
        var finals = new List<JobRecord>();
        foreach (var id in ids)
        {
            finals.Add(await Http.WaitTerminalAsync(http0, id));
        }
        var deadLettered = await Http.WaitTerminalAsync(http1, faultyId);
        // A worker counts a job after its final state is stored (only then is it known that this worker's write
        // applied), so a scrape right after a client sees the state may be a moment early: scrape until the
        // last counters the jobs above move are in (or 10 s pass, and the assertions below say which is missing).
        var after = await ScrapeAllAsync();
        for (var settle = Stopwatch.StartNew(); settle.Elapsed < TimeSpan.FromSeconds(10); after = await ScrapeAllAsync())
        {
            if (Delta(before, after, "nv_inference_request_failure", ("model", "faulty")) >= 1
                && Delta(before, after, "nv_inference_count", ("model", "ocr-cls")) >= ids.Count
                && Delta(before, after, "nv_inference_request_success", ("model", "ocr-cls"), ("version", "1")) >= images.Length)
            {
                break;
            }
            await Task.Delay(200, Ct);
        }

        var succeeded = finals.Count(f => f.Status == JobStatus.Succeeded);
        var failed = finals.Where(f => f.Status == JobStatus.Failed).ToList();
        Assert.Equal(images.Length, succeeded);
        var failure = Assert.Single(failed);
        Assert.Equal(ids.Count, Delta(before, after, "aspire_inference_jobs_accepted_total", ("model", "ocr-cls")));
        Assert.Equal(1, Delta(before, after, "aspire_inference_jobs_rejected_total", ("model", "unknown")));
        Assert.Equal(succeeded, Delta(before, after, "nv_inference_request_success", ("model", "ocr-cls"), ("version", "1")));
        Assert.Equal(1, Delta(before, after, "nv_inference_request_failure", ("model", "ocr-cls"), ("reason", failure.Error!.Code)));
        Assert.Equal(ids.Count, Delta(before, after, "nv_inference_count", ("model", "ocr-cls")));
        var batches = Delta(before, after, "nv_inference_exec_count", ("model", "ocr-cls"));
        Assert.InRange(batches, 1, ids.Count);
        Assert.Equal(batches, Delta(before, after, "aspire_inference_batch_size_count", ("model", "ocr-cls")));
        Assert.Equal(ids.Count, Delta(before, after, "aspire_inference_batch_size_sum", ("model", "ocr-cls")));
        Assert.Equal(ids.Count, Delta(before, after, "aspire_inference_queue_duration_ms_count", ("model", "ocr-cls")));
        Assert.True(Delta(before, after, "nv_inference_compute_infer_duration_us", ("model", "ocr-cls")) > 0);
        Assert.Equal(0, Sum(after, "nv_inference_pending_request_count", ("model", "ocr-cls")));
        Assert.Equal(JobErrorCodes.DeliveryLimit, deadLettered.Error?.Code);
        Assert.Equal(1, Delta(before, after, "nv_inference_request_failure", ("model", "faulty"), ("reason", JobErrorCodes.DeliveryLimit)));
        Assert.Equal(1, Delta(before, after, "nv_inference_request_failure", ("model", "faulty")));
    }

    [Fact]
    public async Task A_job_is_one_trace_from_the_gateway_submit_through_the_worker_run_to_the_push_back()
    {
        // Over the hub the submitter is subscribed before the job can run, so the final update is always pushed.
        await using var client = await InferenceClient.ConnectAsync(system.Gateway(1));
        var id = await client.SubmitAsync("ocr-cls", Fixtures.Bytes("line-007.png"));
        Assert.Equal(JobStatus.Succeeded, (await client.FinalAsync(id)).Status);

        ReceivedSpan? submit = null, run = null, batch = null, push = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && (submit is null || batch is null || push is null))
        {
            var spans = system.Otlp.Spans;
            submit = spans.FirstOrDefault(s => s.Name == "submit job" && s.Attributes.GetValueOrDefault("job.id") == id);
            run = spans.FirstOrDefault(s => s.Name == "run job" && s.Attributes.GetValueOrDefault("job.id") == id);
            batch = run is null ? null : spans.FirstOrDefault(s => s.Name == "run batch" && s.Links.Contains((run.TraceId, run.SpanId)));
            push = spans.FirstOrDefault(s => s.Name == "push job update" && s.Attributes.GetValueOrDefault("job.id") == id);
            await Task.Delay(250, Ct);
        }

        var seen = string.Join(", ", system.Otlp.Spans.Select(s => $"{s.Service}/{s.Name}").Distinct());
        Assert.True(submit is not null, $"no 'submit job' span for {id}; spans received: {seen}");
        Assert.True(run is not null, $"no 'run job' span for {id}; spans received: {seen}");
        Assert.True(push is not null, $"no 'push job update' span for {id}; spans received: {seen}");
        Assert.Equal("gateway", submit.Service);
        Assert.Equal("worker", run.Service);
        Assert.Equal(submit.TraceId, run.TraceId);
        Assert.Equal(submit.SpanId, run.ParentSpanId);
        Assert.NotNull(batch);
        Assert.Equal("worker", batch.Service);
        Assert.Equal("worker", push.Service); // the worker pushes through the backplane, straight to the connection
        Assert.Equal(submit.TraceId, push.TraceId);
        Assert.Equal(submit.SpanId, push.ParentSpanId);
        Assert.Equal("succeeded", push.Attributes.GetValueOrDefault("job.status"));
    }

    /// <summary>Scrapes every gateway and worker replica, checking the exposition format on the way.</summary>
    private async Task<List<PrometheusSample>> ScrapeAllAsync()
    {
        using var http = new HttpClient();
        var samples = new List<PrometheusSample>();
        foreach (var (resource, replicas) in new[] { ("gateway", 2), ("worker", 2) })
        {
            // A test before this one may have killed or restarted a replica: scrape the ones that are back and ready.
            await system.Aspire.WaitForHealthyAsync(resource, TimeSpan.FromSeconds(90), Ct);
            for (var i = 0; i < replicas; i++)
            {
                using var response = await http.GetAsync(new Uri(system.Aspire.GetEndpoint(resource, i), "/metrics"), Ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
                Assert.Contains(response.Content.Headers.ContentType!.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
                var text = await response.Content.ReadAsStringAsync(Ct);
                var parsed = PrometheusText.Parse(text);
                var types = text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal))
                    .Select(l => l.Split(' ')).ToDictionary(p => p[2], p => p[3]);
                Assert.All(parsed, s => Assert.True(
                    types.ContainsKey(s.Name) || types.GetValueOrDefault(s.Name[..s.Name.LastIndexOf('_')]) == "histogram",
                    $"{s.Name} has no # TYPE line"));
                samples.AddRange(parsed);
            }
        }
        return samples;
    }

    private static double Sum(List<PrometheusSample> samples, string name, params (string Name, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Name) == l.Value)).Sum(s => s.Value);

    private static double Delta(List<PrometheusSample> before, List<PrometheusSample> after, string name, params (string Name, string Value)[] labels) =>
        Sum(after, name, labels) - Sum(before, name, labels);
}
