using System.Diagnostics;
using Engine.Imaging;
using TestSupport;

namespace Engine.Tests.Imaging;

/// <summary>
/// Fixed-seed mutation fuzzing of the native decoders: whatever the bytes, the caller sees an image or an
/// <see cref="ImageDecodeException"/>, the process survives, and native memory does not pile up.
/// </summary>
[Collection(MemoryMeasurements.Name)]
public sealed class DecoderFuzzTests(ITestOutputHelper output)
{
    private const int Iterations = 10_000;

    private static readonly string[] Seeds =
        ["picture.png", "picture.jpg", "picture.webp", "picture-lossless.webp", "picture-orient6.jpg"];

    [Fact]
    public void Mutated_images_decode_or_fail_with_ImageDecodeException_without_leaking()
    {
        var seeds = Seeds.Select(TestImages.Read).ToArray();
        var random = new Random(20261121);
        var outcomes = new Dictionary<string, int>();
        var failures = new List<string>();

        // Warm up libraries and the JIT so their one-time memory does not count as growth.
        foreach (var seed in seeds)
        {
            ImageDecoder.Decode(seed, DecodeOptions.Default);
        }

        var rssBefore = SettledRss();
        var rssHalfway = 0L;
        for (var i = 0; i < Iterations; i++)
        {
            if (i == Iterations / 2)
            {
                rssHalfway = SettledRss();
            }

            var seedIndex = random.Next(seeds.Length);
            var (mutation, data) = ImageMutations.Mutate(seeds[seedIndex], random);
            string outcome;
            try
            {
                var image = ImageDecoder.Decode(data, DecodeOptions.Default);
                outcome = image.Pixels.Length == image.Width * image.Height * 3 ? "decoded" : "bad image";
            }
            catch (ImageDecodeException e)
            {
                outcome = e.Code.ToString();
            }
            catch (Exception e)
            {
                outcome = "other exception";
                if (failures.Count < 10)
                {
                    failures.Add($"#{i} {Seeds[seedIndex]} {mutation}: {e.GetType().Name}: {e.Message}");
                }
            }

            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
        }

        var rssAfter = SettledRss();
        var growthMb = Mb(rssAfter - rssBefore);
        output.WriteLine($"fuzz: {Iterations} mutations of {seeds.Length} fixtures");
        foreach (var (outcome, count) in outcomes.OrderByDescending(p => p.Value))
        {
            output.WriteLine($"  {outcome}: {count}");
        }

        output.WriteLine($"  RSS before {Mb(rssBefore):F1} MB, halfway {Mb(rssHalfway):F1} MB, after {Mb(rssAfter):F1} MB, growth {growthMb:F1} MB");

        Assert.Empty(failures);
        Assert.False(outcomes.ContainsKey("bad image"));
        Assert.True(outcomes.GetValueOrDefault("Corrupt") > Iterations / 10, "the mutations should break most files");
        Assert.True(growthMb < 200, $"RSS grew by {growthMb:F1} MB over the run");
        // Allocator and GC pools settle in the first half; a real leak keeps growing through the second.
        Assert.True(Mb(rssAfter - rssHalfway) < 64, $"RSS grew by {Mb(rssAfter - rssHalfway):F1} MB in the second half");
    }

    private static double Mb(long bytes) => bytes / (1024.0 * 1024);

    private static long SettledRss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
