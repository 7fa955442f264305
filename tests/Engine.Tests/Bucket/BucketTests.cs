using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Engine.Bucket;
using Engine.Inference;
using Engine.Tests.Models;

namespace Engine.Tests.Bucket;

public sealed class BucketTests : IDisposable
{
    private readonly TestBucket _bucket = new();
    private readonly string _cacheRoot = Directory.CreateTempSubdirectory("cache-").FullName;

    private LocalModelBucket Bucket => new(_bucket.Root);

    private ModelVersionValidator Validator => new(new ModelCache(Bucket, _cacheRoot), new RunnerOptions());

    public void Dispose()
    {
        _bucket.Dispose();
        Directory.Delete(_cacheRoot, recursive: true);
    }

    [Fact]
    public async Task Complete_version_is_published()
    {
        PublishClassifier("cls", 1);

        var published = await Bucket.ListPublishedAsync(TestContext.Current.CancellationToken);

        var version = Assert.Single(published);
        Assert.Equal(("cls", 1), (version.Model, version.Version));
        Assert.Equal("cls", version.Manifest?.Name);
    }

    [Fact]
    public async Task Version_without_manifest_is_not_published()
    {
        var directory = PublishClassifier("cls", 1);
        File.Delete(Path.Combine(directory, "model.json"));

        Assert.Empty(await Bucket.ListPublishedAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Manifest_still_empty_is_not_published_until_written()
    {
        // An object store (or a copy in progress) can show the manifest's name before its bytes: not a bad version yet.
        var directory = PublishClassifier("cls", 1);
        var manifest = Path.Combine(directory, "model.json");
        var json = File.ReadAllText(manifest);
        File.WriteAllText(manifest, "");

        Assert.Empty(await Bucket.ListPublishedAsync(TestContext.Current.CancellationToken));

        File.WriteAllText(manifest, json);
        var version = Assert.Single(await Bucket.ListPublishedAsync(TestContext.Current.CancellationToken));
        Assert.Equal("cls", version.Manifest?.Name);
    }

    [Fact]
    public async Task Manifest_listing_a_missing_file_is_not_published()
    {
        var directory = PublishClassifier("cls", 1);
        File.Delete(Path.Combine(directory, "model.onnx"));

        Assert.Empty(await Bucket.ListPublishedAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Half_copied_file_is_not_published_until_complete()
    {
        var directory = PublishClassifier("cls", 1);
        var onnx = Path.Combine(directory, "model.onnx");
        var bytes = File.ReadAllBytes(onnx);
        File.WriteAllBytes(onnx, bytes[..(bytes.Length / 2)]);
        Assert.Null(await Bucket.GetPublishedAsync("cls", 1, TestContext.Current.CancellationToken));

        File.WriteAllBytes(onnx, bytes);
        Assert.NotNull(await Bucket.GetPublishedAsync("cls", 1, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Non_integer_version_folders_are_ignored()
    {
        PublishClassifier("cls", 2);
        Directory.CreateDirectory(Path.Combine(_bucket.Root, "cls", "latest"));

        Assert.Equal([2], await Bucket.ListVersionsAsync("cls", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Cache_copies_a_version_and_checks_sha256()
    {
        PublishClassifier("cls", 1);
        var version = (await Bucket.GetPublishedAsync("cls", 1, TestContext.Current.CancellationToken))!;

        var directory = await new ModelCache(Bucket, _cacheRoot).FetchAsync(version, TestContext.Current.CancellationToken);

        Assert.Equal(Path.Combine(_cacheRoot, "cls", "1"), directory);
        Assert.Equal(File.ReadAllBytes(Path.Combine(RepoPaths.Models, "ocr-cls", "1", "model.onnx")), File.ReadAllBytes(Path.Combine(directory, "model.onnx")));
    }

    [Fact]
    public async Task Cached_version_whose_manifest_was_edited_in_the_bucket_is_fetched_again()
    {
        // A directory bucket edited in place (models/ocr-cls/1/model.json) must not keep serving the old manifest.
        var directory = PublishClassifier("cls", 1);
        var cache = new ModelCache(Bucket, _cacheRoot);
        var ct = TestContext.Current.CancellationToken;
        await cache.FetchAsync((await Bucket.GetPublishedAsync("cls", 1, ct))!, ct);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "model.json")))!.AsObject();
        manifest["batching"] = new JsonObject { ["maxBatchSize"] = 3, ["maxQueueDelayMs"] = 0 };
        File.WriteAllText(Path.Combine(directory, "model.json"), manifest.ToJsonString());

        var cached = await cache.FetchAsync((await Bucket.GetPublishedAsync("cls", 1, ct))!, ct);

        Assert.Equal(Path.Combine(_cacheRoot, "cls", "1"), cached);
        Assert.Equal(manifest.ToJsonString(), File.ReadAllText(Path.Combine(cached, "model.json")));
        Assert.True(File.Exists(Path.Combine(cached, "model.onnx")));
        Assert.Equal(["1"], Directory.GetDirectories(Path.Combine(_cacheRoot, "cls")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task File_with_the_wrong_sha256_is_refused_by_the_cache()
    {
        var directory = PublishClassifier("cls", 1);
        var onnx = Path.Combine(directory, "model.onnx");
        var bytes = File.ReadAllBytes(onnx);
        bytes[^1] ^= 0xff;
        File.WriteAllBytes(onnx, bytes);
        var version = (await Bucket.GetPublishedAsync("cls", 1, TestContext.Current.CancellationToken))!;

        var error = await Assert.ThrowsAsync<BucketIntegrityException>(() => new ModelCache(Bucket, _cacheRoot).FetchAsync(version, TestContext.Current.CancellationToken));

        Assert.Contains("sha256", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_cacheRoot, "cls", "1")));
    }

    [Fact]
    public async Task Good_version_with_a_matching_sample_is_valid()
    {
        PublishClassifier("cls", 1, sampleTop1: "0");

        var outcome = await ValidateAsync("cls", 1);

        Assert.True(outcome.IsValid, outcome.Reason);
    }

    [Fact]
    public async Task Corrupt_onnx_is_invalid_with_the_runtime_reason()
    {
        var garbage = "this is not an onnx model"u8.ToArray();
        PublishClassifier("cls", 3, onnx: garbage);

        var outcome = await ValidateAsync("cls", 3);

        Assert.False(outcome.IsValid);
        Assert.StartsWith("cannot be loaded:", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("protobuf", outcome.Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Sample_with_a_mismatching_expectation_is_invalid()
    {
        PublishClassifier("cls", 1, sampleTop1: "180");

        var outcome = await ValidateAsync("cls", 1);

        Assert.False(outcome.IsValid);
        Assert.Equal("samples[0] (line.png): expected top1 '180', got '0'", outcome.Reason);
    }

    [Fact]
    public async Task Version_whose_manifest_lists_no_files_is_still_validated_with_its_weights()
    {
        var directory = PublishClassifier("cls", 1);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "model.json")))!.AsObject();
        manifest.Remove("files");
        File.WriteAllText(Path.Combine(directory, "model.json"), manifest.ToJsonString());

        var outcome = await ValidateAsync("cls", 1);

        Assert.True(outcome.IsValid, outcome.Reason);
    }

    [Fact]
    public async Task Unparseable_manifest_is_invalid()
    {
        var directory = Path.Combine(_bucket.Root, "cls", "1");
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "model.json"), "{ not json");

        var outcome = await ValidateAsync("cls", 1);

        Assert.False(outcome.IsValid);
        Assert.StartsWith("model.json: not valid JSON", outcome.Reason, StringComparison.Ordinal);
    }

    private async Task<ValidationOutcome> ValidateAsync(string model, int version)
    {
        var published = await Bucket.GetPublishedAsync(model, version, TestContext.Current.CancellationToken);
        Assert.NotNull(published);
        return await Validator.ValidateAsync(published, TestContext.Current.CancellationToken);
    }

    /// <summary>The repository's ocr-cls under another name and version, optionally with other weights and a sample; manifest written last.</summary>
    private string PublishClassifier(string model, int version, byte[]? onnx = null, string? sampleTop1 = null)
    {
        var source = Path.Combine(RepoPaths.Models, "ocr-cls", "1");
        var directory = Path.Combine(_bucket.Root, model, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        onnx ??= File.ReadAllBytes(Path.Combine(source, "model.onnx"));
        File.WriteAllBytes(Path.Combine(directory, "model.onnx"), onnx);

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "model.json")))!.AsObject();
        manifest["name"] = model;
        manifest["version"] = version;
        manifest["files"] = new JsonArray(new JsonObject
        {
            ["path"] = "model.onnx",
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(onnx)),
            ["size"] = onnx.Length,
        });
        if (sampleTop1 is not null)
        {
            File.Copy(Path.Combine(RepoPaths.Root, "tests", "Engine.Tests", "Fixtures", "Ocr", "line-001.png"), Path.Combine(directory, "line.png"));
            manifest["samples"] = new JsonArray(new JsonObject { ["input"] = "line.png", ["expected"] = new JsonObject { ["top1"] = sampleTop1 } });
        }

        File.WriteAllText(Path.Combine(directory, "model.json"), manifest.ToJsonString());
        return directory;
    }
}
