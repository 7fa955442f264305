using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Engine.Bucket;
using Engine.Tests.Models;
using TestSupport;

namespace Engine.Tests.Bucket;

/// <summary>The Azure Blob backend against a real azurite: listing, reading, publishing, complete-only visibility, sha256.</summary>
public sealed class AzureBlobBucketTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly string _container = "models-" + Guid.NewGuid().ToString("N")[..12];
    private readonly string _cacheRoot = Directory.CreateTempSubdirectory("cache-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Classifier => Path.Combine(RepoPaths.Models, "ocr-cls", "1");

    public void Dispose() => Directory.Delete(_cacheRoot, recursive: true);

    private async Task<AzureBlobModelBucket> BucketAsync(string? prefix = null)
    {
        var bucket = new AzureBlobModelBucket(ModelBuckets.ParseAzureBlob(azurite.ConnectionString(_container, prefix)));
        await bucket.EnsureContainerAsync(Ct);
        return bucket;
    }

    [Fact]
    public async Task Published_version_is_listed_read_and_cached_with_its_bytes()
    {
        var bucket = await BucketAsync(prefix: "team/a");

        var published = await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: null, progress: null, Ct);

        Assert.Equal(1, published.Version);
        Assert.Equal(["cls"], await bucket.ListModelsAsync(Ct));
        Assert.Equal([1], await bucket.ListVersionsAsync("cls", Ct));
        var version = Assert.Single(await bucket.ListPublishedAsync(Ct));
        Assert.Equal(("cls", 1, "cls"), (version.Model, version.Version, version.Manifest?.Name));
        Assert.Empty(version.ManifestProblems);
        var onnx = await File.ReadAllBytesAsync(Path.Combine(Classifier, "model.onnx"), Ct);
        Assert.Equal(onnx.Length, await bucket.GetSizeAsync("cls", 1, "model.onnx", Ct));
        var cached = await new ModelCache(bucket, _cacheRoot).FetchAsync(version, Ct);
        Assert.Equal(onnx, await File.ReadAllBytesAsync(Path.Combine(cached, "model.onnx"), Ct));
        // The prefix is where the tree lives in the container.
        var names = new List<string>();
        await foreach (var blob in Container().GetBlobsAsync(cancellationToken: Ct))
        {
            names.Add(blob.Name);
        }
        Assert.Contains("team/a/cls/1/model.json", names);
    }

    [Fact]
    public async Task Next_publish_is_the_next_version_and_an_existing_one_is_refused()
    {
        var bucket = await BucketAsync();
        await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: null, progress: null, Ct);

        var second = await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: null, progress: null, Ct);
        var error = await Assert.ThrowsAsync<PublishException>(() => ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: 2, progress: null, Ct));

        Assert.Equal(2, second.Version);
        Assert.Contains("already published", error.Message, StringComparison.Ordinal);
        Assert.Equal([1, 2], (await bucket.ListPublishedAsync(Ct)).Select(v => v.Version));
    }

    [Fact]
    public async Task Version_is_invisible_until_its_manifest_and_every_listed_file_are_in()
    {
        var bucket = await BucketAsync();
        var onnx = await File.ReadAllBytesAsync(Path.Combine(Classifier, "model.onnx"), Ct);
        var manifest = Manifest(onnx, onnx.Length);

        // Weights only: no manifest yet.
        await WriteAsync(bucket, "model.onnx", onnx[..(onnx.Length / 2)]);
        Assert.Equal([1], await bucket.ListVersionsAsync("cls", Ct));
        Assert.Null(await bucket.GetPublishedAsync("cls", 1, Ct));

        // The manifest, while the listed file is still short (an upload of it not finished).
        await WriteAsync(bucket, "model.json", Encoding.UTF8.GetBytes(manifest));
        Assert.Null(await bucket.GetPublishedAsync("cls", 1, Ct));

        // Complete: the file at its listed size. A new bucket object, as another process polling would be.
        await WriteAsync(bucket, "model.onnx", onnx);
        var fresh = await BucketAsync();
        Assert.NotNull(await fresh.GetPublishedAsync("cls", 1, Ct));
    }

    [Fact]
    public async Task Manifest_still_empty_is_not_published_until_written()
    {
        // A blob can be named before its bytes are in (an empty upload first): not a bad version yet.
        var bucket = await BucketAsync();
        var onnx = await File.ReadAllBytesAsync(Path.Combine(Classifier, "model.onnx"), Ct);
        await WriteAsync(bucket, "model.onnx", onnx);
        await WriteAsync(bucket, "model.json", []);
        Assert.Null(await bucket.GetPublishedAsync("cls", 1, Ct));

        await WriteAsync(bucket, "model.json", Encoding.UTF8.GetBytes(Manifest(onnx, onnx.Length)));

        var fresh = await BucketAsync();
        Assert.Equal("cls", (await fresh.GetPublishedAsync("cls", 1, Ct))?.Manifest?.Name);
    }

    [Fact]
    public async Task Names_that_are_not_model_version_file_are_ignored()
    {
        var bucket = await BucketAsync();
        await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: 2, progress: null, Ct);
        foreach (var stray in new[] { "cls/latest/model.json", "cls/0/model.json", "readme.txt", "cls/model.json" })
        {
            await Container().GetBlobClient(stray).UploadAsync(BinaryData.FromString("{}"), overwrite: true, Ct);
        }

        Assert.Equal(["cls"], await bucket.ListModelsAsync(Ct));
        Assert.Equal([2], await bucket.ListVersionsAsync("cls", Ct));
    }

    [Fact]
    public async Task File_whose_sha256_differs_from_the_manifest_is_refused_by_the_cache()
    {
        var bucket = await BucketAsync();
        var onnx = await File.ReadAllBytesAsync(Path.Combine(Classifier, "model.onnx"), Ct);
        var corrupt = (byte[])onnx.Clone();
        corrupt[^1] ^= 0xff;
        await WriteAsync(bucket, "model.onnx", corrupt);
        await WriteAsync(bucket, "model.json", Encoding.UTF8.GetBytes(Manifest(onnx, onnx.Length)));
        var version = await bucket.GetPublishedAsync("cls", 1, Ct);
        Assert.NotNull(version);

        var error = await Assert.ThrowsAsync<BucketIntegrityException>(() => new ModelCache(bucket, _cacheRoot).FetchAsync(version, Ct));

        Assert.Contains("sha256", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_cacheRoot, "cls", "1")));
    }

    [Fact]
    public async Task Deleted_version_is_no_longer_listed()
    {
        var bucket = await BucketAsync();
        await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: null, progress: null, Ct);
        await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: null, progress: null, Ct);
        Assert.Equal(2, (await bucket.ListPublishedAsync(Ct)).Count);

        await foreach (var blob in Container().GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "cls/2/" }, Ct))
        {
            await Container().DeleteBlobAsync(blob.Name, cancellationToken: Ct);
        }

        Assert.Equal([1], (await bucket.ListPublishedAsync(Ct)).Select(v => v.Version));
        Assert.Null(await bucket.GetSizeAsync("cls", 2, "model.json", Ct));
    }

    [Fact]
    public async Task Manifest_rewritten_in_the_container_is_read_again_not_served_from_the_cache()
    {
        var bucket = await BucketAsync();
        await ModelPublisher.PublishAsync(bucket, Classifier, "cls", version: null, progress: null, Ct);
        var before = Assert.Single(await bucket.ListPublishedAsync(Ct));
        var edited = JsonNode.Parse(before.ManifestJson)!.AsObject();
        edited["batching"] = new JsonObject { ["maxBatchSize"] = 3, ["maxQueueDelayMs"] = 0 };

        await Container().GetBlobClient("cls/1/model.json").UploadAsync(BinaryData.FromString(edited.ToJsonString()), overwrite: true, Ct);

        var after = Assert.Single(await bucket.ListPublishedAsync(Ct));
        Assert.Equal(edited.ToJsonString(), after.ManifestJson);
        // Unchanged since: the cached bytes, the same answer.
        Assert.Equal(edited.ToJsonString(), Assert.Single(await bucket.ListPublishedAsync(Ct)).ManifestJson);
    }

    [Fact]
    public async Task Missing_file_is_FileNotFound_and_a_container_not_yet_created_holds_no_models()
    {
        var empty = new AzureBlobModelBucket(ModelBuckets.ParseAzureBlob(azurite.ConnectionString("never-created")));
        Assert.Empty(await empty.ListModelsAsync(Ct));

        var bucket = await BucketAsync();
        await Assert.ThrowsAsync<FileNotFoundException>(() => bucket.OpenReadAsync("cls", 1, "model.onnx", Ct));
        Assert.Null(await bucket.GetSizeAsync("cls", 1, "model.onnx", Ct));
    }

    [Fact]
    public async Task Wrong_account_key_is_an_IO_error_naming_the_bucket_without_the_key()
    {
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var connection = azurite.ConnectionString(_container).Replace(Azurite.AccountKey, wrongKey, StringComparison.Ordinal);
        var bucket = new AzureBlobModelBucket(ModelBuckets.ParseAzureBlob(connection));

        var error = await Assert.ThrowsAsync<IOException>(() => bucket.ListModelsAsync(Ct));

        Assert.StartsWith($"azure blob {Azurite.Account}/{_container}/ at http://127.0.0.1:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongKey, error.Message, StringComparison.Ordinal);
    }

    private BlobContainerClient Container() => new(azurite.AccountConnectionString, _container);

    private static async Task WriteAsync(AzureBlobModelBucket bucket, string path, byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        await bucket.WriteAsync("cls", 1, path, stream, Ct);
    }

    /// <summary>ocr-cls's manifest as cls version 1, listing model.onnx with the given bytes' sha256 and a size.</summary>
    private static string Manifest(byte[] onnx, long size)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Classifier, "model.json")))!.AsObject();
        manifest["name"] = "cls";
        manifest["version"] = 1;
        manifest["files"] = new JsonArray(new JsonObject
        {
            ["path"] = "model.onnx",
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(onnx)),
            ["size"] = size,
        });
        return manifest.ToJsonString();
    }
}
