using Client.Bench;

namespace Client.Tests.Bench;

public sealed class LatencyHistogramTests
{
    private static void AssertWithinOnePercent(double expected, double actual) =>
        Assert.InRange(actual, expected * 0.99, expected * 1.01);

    [Fact]
    public void Percentiles_of_a_uniform_distribution_are_within_one_percent()
    {
        var histogram = new LatencyHistogram();
        for (var us = 1; us <= 1_000_000; us++)
        {
            histogram.Record(us);
        }

        AssertWithinOnePercent(500_000, histogram.ValueAtPercentile(50));
        AssertWithinOnePercent(900_000, histogram.ValueAtPercentile(90));
        AssertWithinOnePercent(990_000, histogram.ValueAtPercentile(99));
        AssertWithinOnePercent(999_000, histogram.ValueAtPercentile(99.9));
        Assert.Equal(1_000_000, histogram.ValueAtPercentile(100));
        Assert.Equal(1_000_000, histogram.MaxMicroseconds);
        Assert.Equal(1, histogram.MinMicroseconds);
        Assert.Equal(1_000_000, histogram.Count);
    }

    [Fact]
    public void Percentiles_of_a_long_tailed_distribution_match_the_exact_ones_within_one_percent()
    {
        var random = new Random(42);
        var values = Enumerable.Range(0, 200_000).Select(_ => (long)(2_000 * Math.Exp(random.NextDouble() * 6))).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var v in values)
        {
            histogram.Record(v);
        }
        Array.Sort(values);

        foreach (var p in new[] { 10, 50, 90, 99, 99.9 })
        {
            var exact = values[(int)Math.Ceiling(p / 100 * values.Length) - 1];
            AssertWithinOnePercent(exact, histogram.ValueAtPercentile(p));
        }
        Assert.Equal(values[^1], histogram.MaxMicroseconds);
    }

    [Fact]
    public void A_single_outlier_is_the_exact_max_and_does_not_move_the_median()
    {
        var histogram = new LatencyHistogram();
        for (var i = 0; i < 999; i++)
        {
            histogram.Record(TimeSpan.FromMilliseconds(2));
        }
        histogram.Record(TimeSpan.FromMilliseconds(1234.567));

        AssertWithinOnePercent(2_000, histogram.ValueAtPercentile(50));
        AssertWithinOnePercent(2_000, histogram.ValueAtPercentile(99.9));
        Assert.Equal(1_234_567, histogram.MaxMicroseconds);
        Assert.Equal(1_234_567, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void Merging_gives_the_histogram_of_all_values()
    {
        var low = new LatencyHistogram();
        var high = new LatencyHistogram();
        var both = new LatencyHistogram();
        for (var us = 1_000; us < 2_000; us++)
        {
            low.Record(us);
            both.Record(us);
        }
        for (var us = 50_000; us < 51_000; us++)
        {
            high.Record(us);
            both.Record(us);
        }

        low.Merge(high);

        Assert.Equal(2_000, low.Count);
        Assert.Equal(1_000, low.MinMicroseconds);
        Assert.Equal(50_999, low.MaxMicroseconds);
        foreach (var p in new[] { 25, 50, 75, 99 })
        {
            Assert.Equal(both.ValueAtPercentile(p), low.ValueAtPercentile(p));
        }
        AssertWithinOnePercent(50_500, low.ValueAtPercentile(75));
    }

    [Fact]
    public void Merging_an_empty_histogram_changes_nothing()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(700);

        histogram.Merge(new LatencyHistogram());

        Assert.Equal(1, histogram.Count);
        Assert.Equal(700, histogram.MinMicroseconds);
        Assert.Equal(700, histogram.MaxMicroseconds);
    }

    [Fact]
    public void An_empty_histogram_reports_zero()
    {
        Assert.Equal(0, new LatencyHistogram().ValueAtPercentile(99));
        Assert.Empty(new LatencyHistogram().Buckets());
    }
}
