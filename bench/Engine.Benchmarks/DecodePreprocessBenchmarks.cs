using BenchmarkDotNet.Attributes;
using Contracts.Models;
using Engine.Inference;
using Engine.Models;

namespace Engine.Benchmarks;

/// <summary>JPEG bytes → detector input tensor (decode with DCT scaling, resize, normalize) for a 640 max-side target.</summary>
[MemoryDiagnoser]
public class DecodePreprocessBenchmarks
{
    private byte[] _jpeg = [];
    private ImagePreprocessor _preprocessor = null!;

    [Params("256x256", "1024x1024", "4000x3000")]
    public string Size { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Size.Split('x');
        _jpeg = File.ReadAllBytes(BenchPaths.Jpeg(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)));
        var det = ModelManifestLoader.Load(Path.Combine(BenchPaths.Models, "ocr-det", "1")).Manifest.Input!;
        _preprocessor = new ImagePreprocessor(det with { Resize = det.Resize with { Mode = ResizeModes.MaxSide, MaxSide = 640 } });
    }

    [Benchmark]
    public long DecodeAndPreprocess()
    {
        var image = _preprocessor.Decode(_jpeg);
        using var batch = _preprocessor.Prepare([image]);
        return batch.Data.Length;
    }
}
