// A user's own classifier served from its manifest alone: nothing in the engine knows this model.
using System.Text.Json;
using Contracts.Jobs;
using Contracts.Models;
using Engine.Inference;
using Engine.Models;
using Engine.Tests.Imaging;

namespace Engine.Tests.Inference;

public sealed class CustomClassifierTests : IDisposable
{
    private readonly string _bucket = Directory.CreateTempSubdirectory("bucket-").FullName;

    public CustomClassifierTests()
    {
        var version = Path.Combine(_bucket, "colours", "1");
        Directory.CreateDirectory(version);
        File.WriteAllBytes(Path.Combine(version, "model.onnx"), TestSupport.OnnxModels.MeanColourClassifier(8, 8, new float[,] { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }));
        File.WriteAllText(Path.Combine(version, "model.json"), """
            {
              "name": "colours",
              "version": 1,
              "task": "image-classification",
              "input": {
                "name": "x",
                "layout": "NCHW",
                "colorOrder": "RGB",
                "resize": { "mode": "fixed", "width": 8, "height": 8 },
                "mean": [0.485, 0.456, 0.406],
                "std": [0.229, 0.224, 0.225]
              },
              "labels": ["red", "green", "blue"],
              "postprocessing": { "type": "softmax-top-k", "k": 3, "applySoftmax": true },
              "batching": { "maxBatchSize": 4, "maxQueueDelayMs": 1 }
            }
            """);
    }

    private static byte[] Png(byte r, byte g, byte b, int width = 40, int height = 30)
    {
        var samples = new byte[width * height * 3];
        for (var i = 0; i < samples.Length; i += 3)
        {
            (samples[i], samples[i + 1], samples[i + 2]) = (r, g, b);
        }

        return TestImages.EncodePng(width, height, samples);
    }

    [Fact]
    public void A_classifier_with_only_a_manifest_names_the_colour_of_each_image_in_a_batch()
    {
        var catalog = ModelCatalog.Scan(_bucket);
        var definition = catalog.Find("colours")?.Latest?.Definition;
        Assert.NotNull(definition);
        using var factory = new ModelRunnerFactory(catalog, new RunnerOptions());
        var runner = factory.Create(definition);

        var results = runner.Run([
            new JobInput("r", InputKinds.Image, Png(230, 20, 30)),
            new JobInput("b", InputKinds.Image, Png(10, 40, 220)),
            new JobInput("g", InputKinds.Image, Png(20, 200, 40, width: 7, height: 90)),
        ]);

        var top = results.Select(r => r.Output!.Value.Deserialize<ClassificationOutput>(new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!.Labels[0]).ToList();
        Assert.Equal(["red", "blue", "green"], top.Select(l => l.Label));
        Assert.All(top, l => Assert.InRange(l.Score, 0.5f, 1f));
    }

    [Fact]
    public void Batches_of_different_sizes_one_after_another_each_name_their_own_colours()
    {
        // The batch tensor is a pooled buffer, reused and often longer than the batch: no image may see another batch's pixels.
        var catalog = ModelCatalog.Scan(_bucket);
        using var factory = new ModelRunnerFactory(catalog, new RunnerOptions());
        var runner = factory.Create(catalog.Find("colours")!.Latest!.Definition!);
        var json = new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web);
        List<string> Labels(params (byte R, byte G, byte B)[] colours) =>
            [.. runner.Run([.. colours.Select((c, i) => new JobInput($"j{i}", InputKinds.Image, Png(c.R, c.G, c.B)))])
                .Select(r => r.Output!.Value.Deserialize<ClassificationOutput>(json)!.Labels[0].Label)];

        Assert.Equal(["red", "green", "blue", "red"], Labels((240, 10, 10), (10, 240, 10), (10, 10, 240), (240, 10, 10)));
        Assert.Equal(["blue"], Labels((10, 10, 240)));
        Assert.Equal(["green", "green", "green"], Labels((10, 240, 10), (10, 240, 10), (10, 240, 10)));
        Assert.Equal(["red", "blue"], Labels((240, 10, 10), (10, 10, 240)));
    }

    [Fact]
    public void A_corrupt_image_fails_only_its_own_job_as_a_client_error()
    {
        var catalog = ModelCatalog.Scan(_bucket);
        using var factory = new ModelRunnerFactory(catalog, new RunnerOptions());
        var runner = factory.Create(catalog.Find("colours")!.Latest!.Definition!);

        var results = runner.Run([new JobInput("bad", InputKinds.Image, "not an image"u8.ToArray()), new JobInput("r", InputKinds.Image, Png(250, 0, 0))]);

        Assert.True(results[0].IsClientError);
        Assert.True(results[1].Succeeded);
    }

    public void Dispose() => Directory.Delete(_bucket, recursive: true);
}
