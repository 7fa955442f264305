// The graph with `--bucket azure` end to end, and nothing more: azurite seeded by the AppHost, ModelSync validating from
// it, one worker loading from it, one gateway answering a job. Its own small run (no shared system in this assembly).
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Engine.Bucket;
using TestSupport;

namespace ModelSync.Tests;

public sealed class AzureBucketGraphTests : IDisposable
{
    private readonly string _seed = AspireSystem.NewRunDirectory("azureseed");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_seed, recursive: true);

    [Fact]
    public async Task Graph_with_the_azure_bucket_serves_a_model_seeded_into_azurite()
    {
        var started = Stopwatch.StartNew();
        var models = Path.Combine(Projects.RepositoryInfo.Root, "models");
        Directory.CreateDirectory(Path.Combine(_seed, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(_seed, "ocr-cls", "1"), Path.Combine(models, "ocr-cls", "1"));

        // The gateway wants a key: the development account's, chosen here and made sure of by the gateway at start.
        var apiKey = "aik_" + System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await using var system = await AspireSystem.StartAsync(AspireSystem.NewRunDirectory("azure"),
            ["--AppHost:Workers=1", "--AppHost:GatewayPort=0", "--AppHost:ModelBucket=azure", $"--AppHost:Models={_seed}", $"--AppHost:ApiKey={apiKey}",
             "--AppHost:ServiceEnvironment:ModelSync__PollInterval=00:00:01"],
            configure: null, Ct);

        // What the services were given is an Azure Storage connection string, and the container holds the seed, complete.
        var connection = await system.GetConnectionStringAsync("models");
        Assert.True(ModelBuckets.IsAzureBlob(connection), connection);
        var bucket = new AzureBlobModelBucket(ModelBuckets.ParseAzureBlob(connection));
        var published = Assert.Single(await bucket.ListPublishedAsync(Ct));
        Assert.Equal(("ocr-cls", 1), (published.Model, published.Version));

        // A job through the gateway, served by the worker from the version it fetched out of azurite.
        using var http = new HttpClient { BaseAddress = system.GetEndpoint("gateway"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        var image = await File.ReadAllBytesAsync(Path.Combine(Projects.RepositoryInfo.Root, "tests", "Engine.Tests", "Fixtures", "Ocr", "line-001.png"), Ct);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonElement job;
        while (true)
        {
            using var response = await http.PostAsync("/v1/models/ocr-cls/predict", new ByteArrayContent(image), Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            // Until a worker reports the model ready the gateway may not know it yet (404) or refuse it (503).
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500, Ct);
                continue;
            }

            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
            job = JsonDocument.Parse(body).RootElement.Clone();
            break;
        }

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("version").GetInt32());
        Assert.True(job.GetProperty("output").GetProperty("labels").GetArrayLength() > 0, job.GetRawText());
        TestContext.Current.TestOutputHelper?.WriteLine($"started, seeded and served in {started.Elapsed.TotalSeconds:0.0} s");
    }
}
