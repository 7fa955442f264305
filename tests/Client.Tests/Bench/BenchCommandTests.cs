using Client.Bench;
using Client.Cli;

namespace Client.Tests.Bench;

public sealed class BenchCommandTests
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();

    private CliConsole Console => CliConsole.Plain(_out, _error);

    [Fact]
    public void Bench_options_are_parsed_into_settings()
    {
        var bench = new BenchCommand(Console);

        var parse = bench.Parse(["-m", "ocr-cls", "-g", "http://gw:9000", "--transport", "rest", "--mode", "open", "--rate", "250",
            "--clients", "64", "--duration", "20", "--warmup", "5", "--input", "a.png", "dir", "--json", "o.json", "--html", "o.html"]);
        var settings = bench.Settings(parse, ["a.png"]);

        Assert.Empty(parse.Errors);
        Assert.Equal(BenchTransport.Rest, settings.Transport);
        Assert.Equal(BenchMode.Open, settings.Mode);
        Assert.Equal(250, settings.Rate);
        Assert.Equal(64, settings.Clients);
        Assert.Equal(TimeSpan.FromSeconds(20), settings.Duration);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Warmup);
        Assert.Equal(["a.png", "dir"], parse.GetValue(bench.Input)!);
        Assert.Equal("o.html", parse.GetValue(bench.HtmlOut)!.Name);
    }

    [Fact]
    public void Open_loop_without_a_rate_is_a_usage_error()
    {
        var parse = new BenchCommand(Console).Parse(["-m", "ocr-cls", "--mode", "open", "--input", "a.png"]);

        Assert.Contains(parse.Errors, e => e.Message.Contains("--rate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Closed_loop_run_keeps_every_client_busy_and_reports_errors_by_code()
    {
        var settings = new BenchSettings(new Uri("http://gw/"), "m", BenchTransport.SignalR, BenchMode.Closed, Clients: 4, Rate: 0,
            Duration: TimeSpan.FromMilliseconds(600), Warmup: TimeSpan.FromMilliseconds(100), InputFiles: ["a"]);
        var calls = 0;
        var run = new BenchRun(settings, [[1]], async (_, _, ct) =>
        {
            await Task.Delay(5, ct);
            return Interlocked.Increment(ref calls) % 10 == 0 ? JobOutcome.Failed("queue_full") : JobOutcome.Succeeded();
        });

        var report = await run.RunAsync(TestContext.Current.CancellationToken);

        Assert.True(report.Succeeded > 20, $"{report.Succeeded} succeeded");
        Assert.True(report.Errors["queue_full"] > 0);
        Assert.Equal(report.Sent, report.Succeeded + report.Failed);
        Assert.True(report.Latency.P50 >= 5);
        Assert.Null(report.Stages);
    }
}
