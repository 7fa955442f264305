// Writes the null model (issue 17): a real ONNX classifier whose run costs next to nothing — an 8×8 image's mean colour
// times a 3×3 identity (GlobalAveragePool → Flatten → MatMul) — with its manifest, ready for `models publish`. Served
// like any model, it leaves in a benchmark what the system itself spends per job: the gateway, the broker, Redis, the
// push, and the worker's decode, batching and bookkeeping around a model run of microseconds.
//
// Usage: dotnet bench/NullModel/bin/Release/net10.0/NullModel.dll OUTPUT_DIRECTORY
if (args.Length != 1 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: NullModel OUTPUT_DIRECTORY   (writes model.onnx and model.json there, for `models publish`)");
    return 2;
}

var output = Directory.CreateDirectory(args[0]).FullName;
File.WriteAllBytes(Path.Combine(output, "model.onnx"),
    TestSupport.OnnxModels.MeanColourClassifier(8, 8, new float[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }));
File.WriteAllText(Path.Combine(output, "model.json"), """
    {
      "name": "null",
      "version": 1,
      "task": "image-classification",
      "description": "The null model: an image's mean colour (8x8, RGB) as three scores. Its run costs microseconds, so a benchmark of it measures the system's own cost per job.",
      "input": {
        "name": "x",
        "layout": "NCHW",
        "colorOrder": "RGB",
        "resize": { "mode": "fixed", "width": 8, "height": 8 },
        "mean": [0, 0, 0],
        "std": [1, 1, 1],
        "scale": 0.003921569
      },
      "labels": ["red", "green", "blue"],
      "postprocessing": { "type": "softmax-top-k", "k": 3, "applySoftmax": true },
      "batching": { "maxBatchSize": 16, "maxQueueDelayMs": 0 }
    }
    """);
Console.WriteLine($"null model -> {output}");
return 0;
