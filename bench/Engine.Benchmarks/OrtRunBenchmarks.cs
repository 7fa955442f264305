using BenchmarkDotNet.Attributes;
using Engine.Onnx;

namespace Engine.Benchmarks;

/// <summary>ONNX Runtime time per model and batch size (1 intra-op thread, as the worker runs), inputs prepared beforehand.</summary>
public class OrtRunBenchmarks
{
    private InferenceSession _cls = null!;
    private InferenceSession _rec = null!;
    private InferenceSession _det = null!;
    private readonly Dictionary<string, NamedTensor> _inputs = [];

    [GlobalSetup]
    public void Setup()
    {
        var options = new SessionOptions { IntraOpThreads = 1, InterOpThreads = 1 };
        _cls = InferenceSession.Load(BenchPaths.Model("ocr-cls"), options);
        _rec = InferenceSession.Load(BenchPaths.Model("ocr-rec"), options);
        _det = InferenceSession.Load(BenchPaths.Model("ocr-det"), options);
        foreach (var batch in new[] { 1, 8, 32 })
        {
            _inputs[$"cls{batch}"] = Input(batch, 48, 192);
            _inputs[$"rec{batch}"] = Input(batch, 48, 320);
        }

        _inputs["det1"] = Input(1, 640, 640);
    }

    private static NamedTensor Input(int batch, int height, int width)
    {
        var random = new Random(1);
        var data = new float[batch * 3 * height * width];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return new NamedTensor("x", TensorData.Create(data, batch, 3, height, width));
    }

    [Benchmark]
    [Arguments(1)]
    [Arguments(8)]
    [Arguments(32)]
    public int Cls(int batch)
    {
        using var outputs = _cls.Run([_inputs[$"cls{batch}"]]);
        return outputs.Count;
    }

    [Benchmark]
    [Arguments(1)]
    [Arguments(8)]
    public int Rec(int batch)
    {
        using var outputs = _rec.Run([_inputs[$"rec{batch}"]]);
        return outputs.Count;
    }

    [Benchmark]
    public int Det640()
    {
        using var outputs = _det.Run([_inputs["det1"]]);
        return outputs.Count;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cls.Dispose();
        _rec.Dispose();
        _det.Dispose();
    }
}
