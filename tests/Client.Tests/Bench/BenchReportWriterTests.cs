using System.Text.Json;
using System.Xml.Linq;
using Client.Bench;

namespace Client.Tests.Bench;

public sealed class BenchReportWriterTests
{
    private static BenchReport SampleReport()
    {
        var settings = new BenchSettings(new Uri("http://gw:8080/"), "ocr-cls", BenchTransport.SignalR, BenchMode.Closed,
            Clients: 4, Rate: 0, Duration: TimeSpan.FromSeconds(4), Warmup: TimeSpan.FromSeconds(1), InputFiles: ["a.png"]);
        var recorder = new BenchRecorder(settings.Warmup, settings.Duration);
        // Warm-up jobs are not measured.
        recorder.Finished(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(0.6), null);
        for (var i = 0; i < 300; i++)
        {
            var sent = TimeSpan.FromSeconds(1 + i / 100.0);
            recorder.Started(sent);
            recorder.Finished(sent, sent + TimeSpan.FromMilliseconds(10 + i % 10), null);
        }
        recorder.Started(TimeSpan.FromSeconds(2));
        recorder.Finished(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2.5), "queue_full");
        return recorder.Report(settings, DateTimeOffset.Parse("2026-11-22T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), 1);
    }

    [Fact]
    public void Report_counts_measured_jobs_only_and_errors_by_code()
    {
        var report = SampleReport();

        Assert.Equal(301, report.Sent);
        Assert.Equal(300, report.Succeeded);
        Assert.Equal(1, report.Failed);
        Assert.Equal(75, report.Throughput);
        Assert.Equal(1, report.Errors["queue_full"]);
        Assert.InRange(report.Latency.P50, 14 * 0.99, 15 * 1.01);
        Assert.InRange(report.Latency.Max, 19, 19.001);
        Assert.Equal([0, 1, 2, 3], report.Timeline.Select(t => t.Second));
    }

    [Fact]
    public void Json_has_throughput_percentiles_errors_timeline_and_histogram()
    {
        using var json = JsonDocument.Parse(BenchReportWriter.ToJson(SampleReport()));
        var root = json.RootElement;

        Assert.Equal("ocr-cls", root.GetProperty("model").GetString());
        Assert.Equal("closed", root.GetProperty("mode").GetString());
        Assert.Equal(75, root.GetProperty("throughput").GetDouble());
        var latency = root.GetProperty("latency");
        foreach (var name in new[] { "p50", "p90", "p99", "p999", "max" })
        {
            Assert.True(latency.GetProperty(name).GetDouble() > 0, name);
        }
        Assert.Equal(1, root.GetProperty("errors").GetProperty("queue_full").GetInt64());
        Assert.Equal(4, root.GetProperty("timeline").GetArrayLength());
        Assert.Equal(300, root.GetProperty("histogram").EnumerateArray().Sum(b => b.GetProperty("count").GetInt64()));
        Assert.False(root.TryGetProperty("rate", out _));
    }

    [Fact]
    public void Html_is_self_contained_with_both_svg_plots_and_the_numbers()
    {
        var report = SampleReport();
        var html = BenchReportWriter.ToHtml(report);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http://cdn", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<td>75</td>", html);
        Assert.Contains($"<td>{report.Latency.P99.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}</td>", html);
        Assert.Contains("queue_full", html);

        // Each plot is well-formed SVG with the data drawn.
        var timeline = XElement.Parse(Extract(html, "<svg id=\"timeline\""));
        var histogram = XElement.Parse(Extract(html, "<svg id=\"histogram\""));
        XNamespace svg = "http://www.w3.org/2000/svg";
        Assert.Equal(3, timeline.Elements(svg + "polyline").Count());
        Assert.All(timeline.Elements(svg + "polyline"), p => Assert.Equal(4, p.Attribute("points")!.Value.Split(' ').Length));
        Assert.Contains(histogram.Elements(svg + "rect"), r => (string?)r.Attribute("class") == "bar");
    }

    private static string Extract(string html, string start)
    {
        var from = html.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, start);
        var to = html.IndexOf("</svg>", from, StringComparison.Ordinal) + "</svg>".Length;
        return html[from..to];
    }
}
