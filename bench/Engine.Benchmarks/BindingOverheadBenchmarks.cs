using BenchmarkDotNet.Attributes;
using Engine.Onnx;

namespace Engine.Benchmarks;

/// <summary>The cost of one Run call on a model that does almost nothing (a single Add over 3×4×5 floats).</summary>
[MemoryDiagnoser]
public class BindingOverheadBenchmarks
{
    private InferenceSession _add = null!;
    private NamedTensor[] _inputs = [];

    [GlobalSetup]
    public void Setup()
    {
        _add = InferenceSession.Load(BenchPaths.AddModel, new SessionOptions { IntraOpThreads = 1, InterOpThreads = 1 });
        var x = new float[60];
        var y = new float[60];
        Array.Fill(x, 1f);
        Array.Fill(y, 2f);
        _inputs = [new NamedTensor("x", TensorData.Create(x, 3, 4, 5)), new NamedTensor("y", TensorData.Create(y, 3, 4, 5))];
    }

    [Benchmark]
    public float AddRun()
    {
        using var outputs = _add.Run(_inputs);
        return outputs[0].Tensor.AsSpan<float>()[0];
    }

    [GlobalCleanup]
    public void Cleanup() => _add.Dispose();
}
