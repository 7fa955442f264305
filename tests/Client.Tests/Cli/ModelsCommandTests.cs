using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Client.Cli;

namespace Client.Tests.Cli;

/// <summary><c>models publish</c> into a directory bucket, and the usage errors of <c>publish</c> and <c>rollback</c>.</summary>
public sealed class ModelsCommandTests : IDisposable
{
    private readonly StringWriter _out = new();
    private readonly StringWriter _error = new();
    private readonly string _bucket = Directory.CreateTempSubdirectory("bucket-").FullName;
    private readonly string _source = Directory.CreateTempSubdirectory("model-").FullName;

    public ModelsCommandTests()
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
    }

    public void Dispose()
    {
        Directory.Delete(_bucket, recursive: true);
        Directory.Delete(_source, recursive: true);
    }

    private Task<int> RunAsync(params string[] args) =>
        CliApp.RunAsync(args, CliConsole.Plain(_out, _error), TestContext.Current.CancellationToken);

    [Fact]
    public void Publish_options_are_parsed()
    {
        var publish = new ModelsPublishCommand(CliConsole.Plain(_out, _error));

        var parse = publish.Parse([_source, "--model", "cls", "--version", "3", "--bucket", "s3://models?endpoint=http://127.0.0.1:9000"]);

        Assert.Empty(parse.Errors);
        Assert.Equal(_source, parse.GetValue(publish.Directory)!.FullName);
        Assert.Equal("cls", parse.GetValue(publish.Model));
        Assert.Equal(3, parse.GetValue(publish.Version));
        Assert.Equal("s3://models?endpoint=http://127.0.0.1:9000", parse.GetValue(publish.Bucket));
    }

    [Fact]
    public async Task Publish_uploads_the_files_then_a_manifest_naming_the_version_and_listing_each_sha256()
    {
        var first = await RunAsync("models", "publish", _source, "--model", "cls", "--bucket", _bucket);
        var second = await RunAsync("models", "publish", _source, "-m", "cls", "-b", _bucket);

        Assert.Equal((ExitCodes.Ok, ExitCodes.Ok), (first, second));
        Assert.Equal(["published cls version 1 to", "published cls version 2 to"], _out.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..26]));
        Assert.Contains("[3/3] model.json", _error.ToString());
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(_bucket, "cls", "2", "model.json")));
        Assert.Equal("cls", manifest.RootElement.GetProperty("name").GetString());
        Assert.Equal(2, manifest.RootElement.GetProperty("version").GetInt32());
        var files = manifest.RootElement.GetProperty("files").EnumerateArray()
            .ToDictionary(f => f.GetProperty("path").GetString()!, f => (f.GetProperty("sha256").GetString(), f.GetProperty("size").GetInt64()));
        Assert.Equal(
            new Dictionary<string, (string?, long)>
            {
                ["labels.txt"] = (Convert.ToHexStringLower(SHA256.HashData("a\nb\n"u8)), 4),
                ["model.onnx"] = (Convert.ToHexStringLower(SHA256.HashData([1, 2, 3, 4, 5])), 5),
            },
            files);
        Assert.Equal([1, 2, 3, 4, 5], File.ReadAllBytes(Path.Combine(_bucket, "cls", "2", "model.onnx")));
    }

    [Fact]
    public async Task Publishing_a_version_that_exists_is_refused_because_versions_are_immutable()
    {
        await RunAsync("models", "publish", _source, "-m", "cls", "--version", "4", "-b", _bucket);
        _error.GetStringBuilder().Clear();

        var exit = await RunAsync("models", "publish", _source, "-m", "cls", "--version", "4", "-b", _bucket);

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.StartsWith("error: cls version 4 is already published in ", _error.ToString());
    }

    [Fact]
    public async Task Invalid_manifest_is_refused_before_anything_is_uploaded()
    {
        File.WriteAllText(Path.Combine(_source, "model.json"), """{ "task": "image-classification", "colour": "blue" }""");

        var exit = await RunAsync("models", "publish", _source, "-m", "cls", "-b", _bucket);

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.Contains("is invalid: ", _error.ToString());
        Assert.False(Directory.Exists(Path.Combine(_bucket, "cls")));
    }

    [Theory]
    [InlineData("models publish {source} -b {bucket}", "Option '--model' is required.")]
    [InlineData("models publish {source} -m Bad/Name -b {bucket}", "'Bad/Name' is not a model name")]
    [InlineData("models publish {source} -m cls --version 0 -b {bucket}", "--version is a positive integer.")]
    [InlineData("models publish /no/such/dir -m cls -b {bucket}", "/no/such/dir does not exist.")]
    [InlineData("models publish {source} -m cls -b s3://models?color=red", "'color' is not a setting of an S3 bucket URL")]
    [InlineData("models rollback cls --admin-key k", "pass --modelsync URL")]
    [InlineData("models rollback cls --modelsync http://127.0.0.1:1/", "pass --admin-key")]
    public async Task Usage_errors_exit_with_2_and_say_what_is_wrong(string args, string expected)
    {
        var exit = await RunAsync(args.Replace("{source}", _source).Replace("{bucket}", _bucket).Split(' '));

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.StartsWith("error: ", _error.ToString());
        Assert.Contains(expected, _error.ToString());
    }

    [Fact]
    public async Task Rollback_against_an_unreachable_modelsync_is_one_line_and_exit_code_2()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}/";

        var exit = await RunAsync("models", "rollback", "cls", "--modelsync", url, "--admin-key", "k");

        Assert.Equal(ExitCodes.UsageOrConnection, exit);
        Assert.StartsWith($"error: cannot reach ModelSync at {url}: ", _error.ToString());
        Assert.Single(_error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
