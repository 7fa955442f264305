using System.Diagnostics;
using Engine.Imaging;

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
            var (mutation, data) = Mutate(seeds[seedIndex], random);
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

    private static (string Mutation, byte[] Data) Mutate(byte[] seed, Random random)
    {
        var data = (byte[])seed.Clone();
        switch (random.Next(5))
        {
            case 0:
                var flips = random.Next(1, 9);
                for (var k = 0; k < flips; k++)
                {
                    data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                }

                return ($"{flips} bit flips", data);
            case 1:
                var length = random.Next(1, data.Length);
                return ($"truncated to {length}", data[..length]);
            case 2:
                var at = random.Next(data.Length);
                var inserted = new byte[random.Next(1, 17)];
                random.NextBytes(inserted);
                return ($"{inserted.Length} bytes inserted at {at}", [.. data[..at], .. inserted, .. data[at..]]);
            case 3:
                // Header fields (sizes, lengths, chunk types) live in the first bytes: overwrite one with extremes.
                var offset = random.Next(2, Math.Min(64, data.Length - 4));
                var width = random.Next(1, 5);
                var fill = random.Next(3) switch { 0 => (byte)0x00, 1 => (byte)0xFF, _ => (byte)random.Next(256) };
                data.AsSpan(offset, width).Fill(fill);
                return ($"header bytes {offset}..{offset + width} set to {fill:X2}", data);
            default:
                for (var k = 0; k < 3; k++)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }

                var end = random.Next(data.Length / 2, data.Length + 1);
                return ($"3 random bytes, truncated to {end}", data[..end]);
        }
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
