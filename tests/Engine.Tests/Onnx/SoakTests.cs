// Long run of the classifier to expose native leaks; opt-in (scripts/soak-onnx.sh sets SOAK_RUNS) and excluded by Category!=Soak.
using Engine.Onnx;

namespace Engine.Tests.Onnx;

[Trait("Category", "Soak")]
[Collection(MemoryMeasurements.Name)]
public sealed class SoakTests(ITestOutputHelper output)
{
    [Fact]
    public void Ten_thousand_runs_of_the_classifier_leave_resident_memory_flat()
    {
        var setting = Environment.GetEnvironmentVariable("SOAK_RUNS");
        Assert.SkipWhen(setting is null, "Soak test: run scripts/soak-onnx.sh (or set SOAK_RUNS).");
        var runs = int.Parse(setting!);

        using var session = InferenceSession.Load(TestPaths.OcrClassifier, new SessionOptions { IntraOpThreads = 1 });
        NamedTensor[] inputs = [new("x", TensorData.Create(OcrClassifierSessionTests.ConstantImages(1, 0.5f), 1, 3, 48, 192))];
        var outputName = session.Outputs[0].Name;

        // Warm-up lets ONNX Runtime's arena, the JIT and the GC's allocation budget settle before the baseline.
        var checksum = RunMany(session, inputs, outputName, 1000);
        var before = Measure();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        checksum += RunMany(session, inputs, outputName, runs / 2);
        var middle = Measure();
        checksum += RunMany(session, inputs, outputName, runs - runs / 2);
        var after = Measure();
        var allocatedPerRun = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)runs;

        var report =
            $"soak: {runs} runs of models/ocr-cls/1/model.onnx, batch 1, ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()} (after 1000 warm-up runs)\n" +
            $"VmRSS before: {before.Rss} kB, after {runs / 2}: {middle.Rss} kB, after {runs}: {after.Rss} kB " +
            $"(growth {after.Rss - before.Rss} kB; second half {after.Rss - middle.Rss} kB)\n" +
            $"managed heap committed: {before.Committed} kB, {middle.Committed} kB, {after.Committed} kB\n" +
            $"managed bytes allocated per Run (Run + reading the output in place + Dispose): {allocatedPerRun:F0}\n";
        output.WriteLine(report);
        File.WriteAllText(Path.Combine(TestPaths.Artifacts, "onnx-soak.txt"), report);

        Assert.True(checksum > 0);
        // Native memory (RSS outside the managed heap) may still settle in the first half; in the second half a leaked
        // OrtValue per run (a few hundred bytes with its buffers) would add over a megabyte.
        Assert.True((after.Rss - after.Committed) - (middle.Rss - middle.Committed) < 1024, report);
    }

    private static double RunMany(InferenceSession session, NamedTensor[] inputs, string outputName, int runs)
    {
        double sum = 0;
        for (var i = 0; i < runs; i++)
        {
            using var outputs = session.Run(inputs);
            sum += outputs.GetSpan<float>(outputName)[0];
        }
        return sum;
    }

    private static (long Rss, long Committed) Measure()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        var rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0]);
        return (rss, GC.GetGCMemoryInfo().TotalCommittedBytes / 1024);
    }
}
