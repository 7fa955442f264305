using System.Text.Json;
using Client.Cli;
using Engine.Bucket;
using TestSupport;

namespace Client.Tests.Cli;

/// <summary><c>models publish --bucket</c> with an Azure Storage connection string, against a real azurite.</summary>
public sealed class ModelsPublishAzureTests(Azurite azurite) : IClassFixture<Azurite>, IDisposable
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();
    private readonly string _source = Directory.CreateTempSubdirectory("model-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_source, recursive: true);

    [Fact]
    public async Task Publish_into_a_new_container_creates_it_and_the_version_is_complete_with_every_sha256()
    {
        File.WriteAllBytes(Path.Combine(_source, "model.onnx"), [1, 2, 3, 4, 5]);
        File.WriteAllText(Path.Combine(_source, "labels.txt"), "a\nb\n");
        File.WriteAllText(Path.Combine(_source, "model.json"), """
            {
              "name": "anything", "version": 9, "task": "image-classification",
              "input": { "layout": "NCHW", "colorOrder": "RGB", "resize": { "mode": "fixed", "width": 8, "height": 8 },
                         "mean": [0, 0, 0], "std": [1, 1, 1] },
              "labelsFile": "labels.txt",
              "postprocessing": { "type": "softmax-top-k", "k": 1 }
            }
            """);
        var container = "cli-" + Guid.NewGuid().ToString("N")[..12];
        var connection = azurite.ConnectionString(container);

        var first = await CliApp.RunAsync(["models", "publish", _source, "--model", "cls", "--bucket", connection], CliConsole.Plain(_out, _error), Ct);
        var second = await CliApp.RunAsync(["models", "publish", _source, "-m", "cls", "-b", connection], CliConsole.Plain(_out, _error), Ct);

        Assert.True((ExitCodes.Ok, ExitCodes.Ok) == (first, second), _error.ToString());
        Assert.StartsWith($"published cls version 1 to azure blob {Azurite.Account}/{container}/ at http://127.0.0.1:", _out.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Azurite.AccountKey, _out.ToString() + _error.ToString(), StringComparison.Ordinal);
        Assert.Contains("[3/3] model.json", _error.ToString(), StringComparison.Ordinal);
        var bucket = new AzureBlobModelBucket(ModelBuckets.ParseAzureBlob(connection));
        var published = await bucket.ListPublishedAsync(Ct);
        Assert.Equal([1, 2], published.Select(v => v.Version));
        using var manifest = JsonDocument.Parse(published[1].ManifestJson);
        Assert.Equal(2, manifest.RootElement.GetProperty("version").GetInt32());
        Assert.Equal(["labels.txt", "model.onnx"], manifest.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
    }

    [Fact]
    public async Task Azure_connection_string_without_a_container_is_a_usage_error()
    {
        File.WriteAllText(Path.Combine(_source, "model.json"), "{}");

        var exit = await CliApp.RunAsync(["models", "publish", _source, "-m", "cls", "-b", azurite.AccountConnectionString], CliConsole.Plain(_out, _error), Ct);

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.Contains("names no container: add ;ContainerName=models", _error.ToString(), StringComparison.Ordinal);
    }
}
