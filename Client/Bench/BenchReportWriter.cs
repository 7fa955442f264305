using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Client.Bench;

/// <summary>Writes a <see cref="BenchReport"/> as JSON, and as one self-contained HTML page with inline SVG plots.</summary>
public static class BenchReportWriter
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(report, Json);

    public static string ToHtml(BenchReport report)
    {
        var l = report.Latency;
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
            .Append("<title>bench ").Append(E(report.Model)).Append("</title>\n<style>")
            .Append("body{font:14px system-ui,sans-serif;margin:2em;max-width:980px;color:#222}")
            .Append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}")
            .Append("th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}")
            .Append("svg{background:#fff;border:1px solid #ddd;margin:.5em 0}text{font:11px sans-serif;fill:#444}")
            .Append("</style></head><body>\n");
        html.Append("<h1>bench: ").Append(E(report.Model)).Append("</h1>\n<p>")
            .Append(E($"{report.Mode} loop, {report.Transport}, {report.Clients} clients"))
            .Append(report.Rate is { } r ? E($", {F(r)} jobs/s offered") : "")
            .Append(E($", {report.Inputs} inputs, against {report.Gateway}; started {report.StartedAt:u}, "))
            .Append(E($"{F(report.WarmupSeconds)} s warm-up + {F(report.DurationSeconds)} s measured.")).Append("</p>\n");

        html.Append("<table><tr><th>throughput (jobs/s)</th><th>sent</th><th>succeeded</th><th>failed</th></tr><tr>")
            .Append(Td(F(report.Throughput))).Append(Td(report.Sent.ToString(Inv))).Append(Td(report.Succeeded.ToString(Inv)))
            .Append(Td(report.Failed.ToString(Inv))).Append("</tr></table>\n");
        html.Append("<table><tr><th>latency (ms)</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr><tr><td>successful jobs</td>")
            .Append(Td(F(l.P50))).Append(Td(F(l.P90))).Append(Td(F(l.P99))).Append(Td(F(l.P999))).Append(Td(F(l.Max)))
            .Append("</tr></table>\n");
        if (report.Errors.Count > 0)
        {
            html.Append("<table><tr><th>error code</th><th>jobs</th></tr>");
            foreach (var (code, count) in report.Errors)
            {
                html.Append("<tr><td>").Append(E(code)).Append("</td>").Append(Td(count.ToString(Inv))).Append("</tr>");
            }
            html.Append("</table>\n");
        }
        if (report.Stages is { Count: > 0 } stages)
        {
            html.Append("<h2>Where the time goes</h2>\n<table id=\"stages\"><tr><th>stage (ms)</th><th>p50</th><th>p90</th><th>p99</th><th>max</th><th>jobs</th></tr>");
            foreach (var (stage, s) in stages)
            {
                html.Append("<tr><td>").Append(E(stage)).Append("</td>").Append(Td(F(s.P50))).Append(Td(F(s.P90))).Append(Td(F(s.P99)))
                    .Append(Td(F(s.Max))).Append(Td(s.Count.ToString(Inv))).Append("</tr>");
            }
            html.Append("</table>\n");
            if (report.MeanBatchSize is { } batch)
            {
                html.Append("<p>").Append(E($"Mean batch size: {F(batch)}.")).Append("</p>\n");
            }
        }
        html.Append("<h2>Latency over time</h2>\n").Append(TimelineSvg(report.Timeline)).Append('\n');
        html.Append("<h2>Latency histogram</h2>\n").Append(HistogramSvg(report.Histogram)).Append('\n');
        html.Append("</body></html>\n");
        return html.ToString();
    }

    /// <summary>
    /// One line on where the time goes, e.g. <c>stages p50/p99 ms: submit 1.2/3.4 · queue … · push …; mean batch 3.1</c>;
    /// null when no job's record had the server's timestamps.
    /// </summary>
    public static string? StagesLine(BenchReport report)
    {
        if (report.Stages is not { Count: > 0 } stages)
        {
            return null;
        }
        var line = "stages p50/p99 ms: " + string.Join(" · ", stages.Select(s => $"{s.Key} {F(s.Value.P50, "0.#")}/{F(s.Value.P99, "0.#")}"));
        return report.MeanBatchSize is { } batch ? $"{line}; mean batch {F(batch, "0.#")}" : line;
    }

    private const int W = 900, H = 320, Left = 60, Right = 20, Top = 20, Bottom = 40;

    /// <summary>p50, p99 and max per second of the measured window (by completion), linear axes.</summary>
    public static string TimelineSvg(IReadOnlyList<TimelinePoint> points)
    {
        var svg = SvgOpen("timeline", "Latency over time: p50, p99 and max per second");
        if (points.Count == 0)
        {
            return svg.Append("<text x=\"").Append(W / 2).Append("\" y=\"").Append(H / 2).Append("\">no data</text></svg>").ToString();
        }
        var maxX = Math.Max(1, points.Max(p => p.Second) + 1);
        var maxY = NiceCeiling(points.Max(p => p.Max));
        double X(double s) => Left + s / maxX * (W - Left - Right);
        double Y(double ms) => H - Bottom - ms / maxY * (H - Top - Bottom);
        Axes(svg, maxY, ms => Y(ms), "ms");
        for (var s = 0; s <= maxX; s += Math.Max(1, maxX / 10))
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(s):0.#}\" y=\"{H - Bottom + 15}\" text-anchor=\"middle\">{s}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{W / 2}\" y=\"{H - 5}\" text-anchor=\"middle\">seconds into the measured window</text>");
        foreach (var (name, color, value) in new (string, string, Func<TimelinePoint, double>)[]
                 { ("max", "#bbb", p => p.Max), ("p99", "#d62728", p => p.P99), ("p50", "#1f77b4", p => p.P50) })
        {
            var path = string.Join(" ", points.Where(p => p.Succeeded > 0).Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.Second + 0.5):0.#},{Y(value(p)):0.#}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"{name}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{path}\"/>");
        }
        Legend(svg, [("p50", "#1f77b4"), ("p99", "#d62728"), ("max", "#bbb")]);
        return svg.Append("</svg>").ToString();
    }

    /// <summary>Job count per latency bucket; log-scaled latency axis so both the body and the tail show.</summary>
    public static string HistogramSvg(IReadOnlyList<HistogramBucket> buckets)
    {
        var svg = SvgOpen("histogram", "Latency histogram: jobs per latency bucket (log latency axis)");
        if (buckets.Count == 0)
        {
            return svg.Append("<text x=\"").Append(W / 2).Append("\" y=\"").Append(H / 2).Append("\">no data</text></svg>").ToString();
        }
        // Regroup into ~60 log-spaced bins between the smallest and largest latency.
        var lo = Math.Log10(Math.Max(0.001, buckets[0].LowMs));
        var hi = Math.Log10(Math.Max(buckets[^1].HighMs, buckets[0].LowMs * 1.01 + 0.001));
        const int bins = 60;
        var counts = new long[bins];
        foreach (var b in buckets)
        {
            var mid = Math.Log10(Math.Max(0.001, (b.LowMs + b.HighMs) / 2));
            counts[Math.Clamp((int)((mid - lo) / (hi - lo) * bins), 0, bins - 1)] += b.Count;
        }
        var maxY = (double)NiceCeiling(counts.Max());
        double X(double log) => Left + (log - lo) / (hi - lo) * (W - Left - Right);
        double Y(double c) => H - Bottom - c / maxY * (H - Top - Bottom);
        Axes(svg, maxY, c => Y(c), "jobs");
        var barWidth = (W - Left - Right) / (double)bins;
        for (var i = 0; i < bins; i++)
        {
            if (counts[i] > 0)
            {
                svg.Append(CultureInfo.InvariantCulture,
                    $"<rect class=\"bar\" x=\"{Left + i * barWidth:0.##}\" y=\"{Y(counts[i]):0.##}\" width=\"{Math.Max(1, barWidth - 1):0.##}\" height=\"{H - Bottom - Y(counts[i]):0.##}\" fill=\"#1f77b4\"><title>{counts[i]} jobs</title></rect>");
            }
        }
        for (var t = Math.Floor(lo); t <= Math.Ceiling(hi); t++)
        {
            foreach (var m in new[] { 1, 2, 5 })
            {
                var log = t + Math.Log10(m);
                if (log >= lo && log <= hi)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(log):0.#}\" y=\"{H - Bottom + 15}\" text-anchor=\"middle\">{Math.Pow(10, log):0.###}</text>");
                }
            }
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{W / 2}\" y=\"{H - 5}\" text-anchor=\"middle\">latency (ms)</text>");
        return svg.Append("</svg>").ToString();
    }

    private static StringBuilder SvgOpen(string id, string title) => new StringBuilder()
        .Append(CultureInfo.InvariantCulture, $"<svg id=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\"><title>{E(title)}</title>");

    private static void Axes(StringBuilder svg, double maxY, Func<double, double> y, string unit)
    {
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{H - Bottom}\" x2=\"{W - Right}\" y2=\"{H - Bottom}\" stroke=\"#888\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{H - Bottom}\" stroke=\"#888\"/>");
        for (var i = 0; i <= 4; i++)
        {
            var v = maxY * i / 4;
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{y(v):0.#}\" x2=\"{W - Right}\" y2=\"{y(v):0.#}\" stroke=\"#eee\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 5}\" y=\"{y(v) + 4:0.#}\" text-anchor=\"end\">{v:0.##}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{Top + (H - Top - Bottom) / 2}\" transform=\"rotate(-90 12 {Top + (H - Top - Bottom) / 2})\" text-anchor=\"middle\">{unit}</text>");
    }

    private static void Legend(StringBuilder svg, (string Name, string Color)[] series)
    {
        for (var i = 0; i < series.Length; i++)
        {
            var x = W - Right - 70 * (series.Length - i);
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{Top}\" width=\"12\" height=\"4\" fill=\"{series[i].Color}\"/><text x=\"{x + 16}\" y=\"{Top + 5}\">{series[i].Name}</text>");
        }
    }

    private static double NiceCeiling(double value)
    {
        if (value <= 0)
        {
            return 1;
        }
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(value)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= value)
            {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static string Td(string text) => "<td>" + E(text) + "</td>";

    private static string F(double value, string format = "0.###") => value.ToString(format, Inv);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
