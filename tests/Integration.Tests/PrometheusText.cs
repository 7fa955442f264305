using System.Globalization;

namespace Integration.Tests;

/// <summary>One sample of Prometheus text exposition format 0.0.4.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>A parser for the text format the services' /metrics endpoints write (enough for what the services expose, strict about syntax).</summary>
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

