using System.Globalization;
using System.Text.Json;
using Client.Bench;
using Contracts.Jobs;

namespace Client.Tests.Bench;

public sealed class BenchStagesTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-11-22T00:00:00Z", CultureInfo.InvariantCulture);

    private static readonly BenchSettings Settings = new(new Uri("http://gw:8080/"), "ocr-cls", BenchTransport.SignalR, BenchMode.Open,
        Clients: 4, Rate: 100, Duration: TimeSpan.FromSeconds(4), Warmup: TimeSpan.FromSeconds(1), InputFiles: ["a.png"]);

    private static JobRecord Record(DateTimeOffset accepted, DateTimeOffset? started, DateTimeOffset? finished, int batchSize = 1) => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        Model = "ocr-cls",
        Status = JobStatus.Succeeded,
        AcceptedAt = accepted,
        StartedAt = started,
        FinishedAt = finished,
        Timings = new JobTimings(null, null, null, batchSize),
    };

    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    /// <summary>
    /// 300 measured jobs whose stages take, by job, submit 1/2/3 ms, queue 4/4/10 ms, run 2.5 ms, push 3/3/9 ms and
    /// send lag 0.5 ms; batches of 2, 4 and 6.
    /// </summary>
    private static BenchRecorder RecorderWithStages()
    {
        var recorder = new BenchRecorder(Settings.Warmup, Settings.Duration);
        for (var i = 0; i < 300; i++)
        {
            var scheduledAt = TimeSpan.FromSeconds(1 + i / 100.0);
            var sent = T0 + scheduledAt + Ms(0.5);
            var accepted = sent + Ms(1 + i % 3);
            var started = accepted + Ms(i % 3 == 2 ? 10 : 4);
            var finished = started + Ms(2.5);
            var received = finished + Ms(i % 3 == 2 ? 9 : 3);
            recorder.Started(scheduledAt);
            recorder.Finished(scheduledAt, received - T0, null,
                new JobTrace(sent, received, Record(accepted, started, finished, batchSize: 2 + 2 * (i % 3)), SendLag: Ms(0.5)));
        }
        return recorder;
    }

    [Fact]
    public void The_queue_stage_splits_where_the_worker_received_the_job_when_the_record_says()
    {
        var recorder = new BenchRecorder(Settings.Warmup, Settings.Duration);
        var at = TimeSpan.FromSeconds(2);
        var sent = T0 + at;
        var accepted = sent + Ms(1);
        // Queue 7 ms: delivered to the worker 5 ms after acceptance, started 2 ms later.
        var record = Record(accepted, accepted + Ms(7), accepted + Ms(9)) with { Timings = new JobTimings(7, 2, 9, 1, DeliveredMs: 5) };
        recorder.Started(at);
        recorder.Finished(at, at + Ms(12), null, new JobTrace(sent, sent + Ms(12), record));

        var stages = recorder.Report(Settings, T0, 1).Stages!;

        Assert.Equal(["submit", "queue", "queue: broker", "queue: worker", "run", "push"], stages.Keys);
        Assert.InRange(stages["queue: broker"].P50, 5 * 0.99, 5 * 1.01);
        Assert.InRange(stages["queue: worker"].P50, 2 * 0.99, 2 * 1.01);
        Assert.InRange(stages["queue"].P50, 7 * 0.99, 7 * 1.01);
    }

    [Fact]
    public void Stages_split_each_job_at_the_server_timestamps()
    {
        var report = RecorderWithStages().Report(Settings, T0, 1);

        var stages = report.Stages!;
        Assert.Equal(["submit", "queue", "run", "push", "send lag"], stages.Keys);
        Assert.All(stages.Values, s => Assert.Equal(300, s.Count));
        Assert.InRange(stages["submit"].P50, 2 * 0.99, 2 * 1.01);
        Assert.InRange(stages["queue"].P50, 4 * 0.99, 4 * 1.01);
        Assert.InRange(stages["queue"].Max, 10 * 0.99, 10 * 1.01);
        Assert.InRange(stages["run"].P50, 2.5 * 0.99, 2.5 * 1.01);
        Assert.InRange(stages["push"].P50, 3 * 0.99, 3 * 1.01);
        Assert.InRange(stages["push"].P99, 9 * 0.99, 9 * 1.01);
        Assert.InRange(stages["send lag"].P50, 0.5 * 0.99, 0.5 * 1.01);
        Assert.Equal(4, report.MeanBatchSize);
    }

    [Fact]
    public void Jobs_without_a_full_record_failed_jobs_and_warmup_jobs_add_no_stage_sample()
    {
        var recorder = new BenchRecorder(Settings.Warmup, Settings.Duration);
        var at = TimeSpan.FromSeconds(2);
        var sent = T0 + at;
        var full = Record(sent + Ms(1), sent + Ms(5), sent + Ms(8));
        recorder.Finished(at, at + Ms(10), null, new JobTrace(sent, sent + Ms(10), Record: null));
        recorder.Finished(at, at + Ms(10), null, new JobTrace(sent, sent + Ms(10), Record(sent + Ms(1), started: null, finished: null)));
        recorder.Finished(at, at + Ms(10), null);
        recorder.Finished(at, at + Ms(10), "model_failed", new JobTrace(sent, sent + Ms(10), full));
        recorder.Finished(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(0.6), null, new JobTrace(sent, sent + Ms(10), full));
        recorder.Finished(at, at + Ms(10), null, new JobTrace(sent, sent + Ms(10), full));

        var report = recorder.Report(Settings, T0, 1);

        Assert.Equal(5, report.Succeeded + report.Failed);
        Assert.Equal(["submit", "queue", "run", "push"], report.Stages!.Keys);
        Assert.All(report.Stages.Values, s => Assert.Equal(1, s.Count));
        Assert.InRange(report.Stages["queue"].P50, 4 * 0.99, 4 * 1.01);
    }

    [Fact]
    public void A_server_clock_ahead_of_the_send_counts_as_zero_not_negative()
    {
        var recorder = new BenchRecorder(Settings.Warmup, Settings.Duration);
        var at = TimeSpan.FromSeconds(2);
        var sent = T0 + at;
        recorder.Finished(at, at + Ms(10), null, new JobTrace(sent, sent + Ms(10), Record(sent - Ms(1), sent + Ms(5), sent + Ms(8))));

        var submit = recorder.Report(Settings, T0, 1).Stages!["submit"];

        Assert.Equal(0, submit.Min);
        Assert.Equal(0, submit.Max);
    }

    [Fact]
    public void Without_timestamps_the_report_has_no_stages_and_the_json_no_stages_key()
    {
        var recorder = new BenchRecorder(Settings.Warmup, Settings.Duration);
        recorder.Finished(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.01), null);

        var report = recorder.Report(Settings, T0, 1);
        using var json = JsonDocument.Parse(BenchReportWriter.ToJson(report));

        Assert.Null(report.Stages);
        Assert.Null(BenchReportWriter.StagesLine(report));
        Assert.False(json.RootElement.TryGetProperty("stages", out _));
        Assert.DoesNotContain("id=\"stages\"", BenchReportWriter.ToHtml(report), StringComparison.Ordinal);
    }

    [Fact]
    public void Json_summary_line_and_html_carry_the_stages()
    {
        var report = RecorderWithStages().Report(Settings, T0, 1);

        using var json = JsonDocument.Parse(BenchReportWriter.ToJson(report));
        var stages = json.RootElement.GetProperty("stages");
        Assert.InRange(stages.GetProperty("queue").GetProperty("p50").GetDouble(), 4 * 0.99, 4 * 1.01);
        Assert.InRange(stages.GetProperty("send lag").GetProperty("p99").GetDouble(), 0.5 * 0.99, 0.5 * 1.01);
        Assert.Equal(4, json.RootElement.GetProperty("meanBatchSize").GetDouble());

        var line = BenchReportWriter.StagesLine(report)!;
        Assert.StartsWith("stages p50/p99 ms: submit 2/3 · queue 4/10 · run 2.5/2.5 · push 3/9 · send lag 0.5/0.5", line, StringComparison.Ordinal);
        Assert.EndsWith("; mean batch 4", line, StringComparison.Ordinal);

        var html = BenchReportWriter.ToHtml(report);
        Assert.Contains("<table id=\"stages\">", html, StringComparison.Ordinal);
        Assert.Contains("<tr><td>send lag</td>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Open_loop_run_measures_stages_from_the_records_it_gets_back()
    {
        var settings = Settings with { Rate = 200, Duration = TimeSpan.FromMilliseconds(400), Warmup = TimeSpan.FromMilliseconds(100) };
        var run = new BenchRun(settings, [[1]], async (_, _, ct) =>
        {
            var accepted = DateTimeOffset.UtcNow;
            await Task.Delay(2, ct);
            var started = DateTimeOffset.UtcNow;
            await Task.Delay(2, ct);
            return JobOutcome.Succeeded(Record(accepted, started, DateTimeOffset.UtcNow, batchSize: 3));
        });

        var report = await run.RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["submit", "queue", "run", "push", "send lag"], report.Stages!.Keys);
        Assert.All(report.Stages.Values, s => Assert.Equal(report.Succeeded, s.Count));
        Assert.Equal(3, report.MeanBatchSize);
    }

    [Fact]
    public async Task Closed_loop_run_has_no_send_lag()
    {
        var settings = Settings with { Mode = BenchMode.Closed, Clients = 2, Duration = TimeSpan.FromMilliseconds(300), Warmup = TimeSpan.Zero };
        var run = new BenchRun(settings, [[1]], async (_, _, ct) =>
        {
            var accepted = DateTimeOffset.UtcNow;
            await Task.Delay(2, ct);
            return JobOutcome.Succeeded(Record(accepted, accepted, DateTimeOffset.UtcNow));
        });

        var report = await run.RunAsync(TestContext.Current.CancellationToken);

        Assert.True(report.Succeeded > 0);
        Assert.Equal(["submit", "queue", "run", "push"], report.Stages!.Keys);
    }
}
