using Contracts.Models;
using Engine.Models;

namespace Engine.Tests.Models;

public sealed class ModelCatalogTests : IDisposable
{
    private readonly TestBucket _bucket = new();

    public void Dispose() => _bucket.Dispose();

    private static string Tensor(string name, int version) => $$"""{ "name": "{{name}}", "version": {{version}}, "task": "tensor" }""";

    [Fact]
    public void The_repository_models_are_all_valid()
    {
        var catalog = ModelCatalog.Scan(RepoPaths.Models);

        Assert.Equal(["ocr", "ocr-cls", "ocr-det", "ocr-rec"], catalog.Models.Select(m => m.Name));
        Assert.All(catalog.Models, m => Assert.True(m.Latest?.IsValid, string.Join("; ", m.Versions.SelectMany(v => v.Problems))));
    }

    [Fact]
    public void Versions_are_integer_directories_in_numeric_order_and_invalid_ones_carry_their_reasons()
    {
        _bucket.AddVersion("m", 10, Tensor("m", 10));
        _bucket.AddVersion("m", 2, Tensor("m", 2));
        _bucket.AddVersion("m", 1, """{ "name": "m", "version": 1 }""");
        _bucket.AddVersion("m", "latest", Tensor("m", 3));
        _bucket.AddVersion("m", "2-draft", Tensor("m", 3));
        Directory.CreateDirectory(Path.Combine(_bucket.Root, "empty-model"));

        var catalog = ModelCatalog.Scan(_bucket.Root);

        var model = Assert.Single(catalog.Models);
        Assert.Equal([1, 2, 10], model.Versions.Select(v => v.Version));
        Assert.False(model.Versions[0].IsValid);
        Assert.Equal(["task is required (expected one of 'image-classification', 'text-detection', 'text-recognition', 'ocr', 'tensor')"], model.Versions[0].Problems);
        Assert.Equal(10, model.Latest!.Version);
    }

    [Fact]
    public void A_pipeline_naming_a_model_the_bucket_lacks_is_invalid()
    {
        _bucket.AddVersion("ocr", 1, """{ "name": "ocr", "version": 1, "task": "ocr", "pipeline": { "detection": "det", "recognition": "rec" } }""", withOnnx: false);
        _bucket.AddVersion("det", 1, Tensor("det", 1));

        var catalog = ModelCatalog.Scan(_bucket.Root);

        var ocr = catalog.Find("ocr")!.Versions.Single();
        Assert.Null(ocr.Definition);
        Assert.Equal(
            [
                "pipeline.detection names 'det', whose task is 'tensor', not 'text-detection'",
                "pipeline.recognition names 'rec', which has no valid version in the bucket",
            ],
            ocr.Problems);
        Assert.Equal(ModelTask.Tensor, catalog.Find("det")!.Latest!.Definition!.Manifest.Task);
    }
}
