using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using TestSupport;

[assembly: AssemblyFixture(typeof(Integration.Tests.SystemFixture))]
// Some tests stop workers or fill queues: they must not overlap with others. (Tried 2026-12-02: the S3 system's test in a
// collection of its own, beside the shared system's. The suite took 14:36, but three timing-sensitive tests failed under
// that load: the overload test measured 36 jobs/s of capacity where 150-200 is usual, the S3 rollout outlasted its 60 s.)
[assembly: CollectionBehavior(DisableTestParallelization = true)]
[assembly: TestCollectionOrderer(typeof(Integration.Tests.S3First))]

namespace Integration.Tests;

/// <summary>
/// The whole system through Aspire.Hosting.Testing — the AppHost's graph with real redis-server and rabbitmq-server,
/// 2 gateways, 2 workers, ModelSync — over a private bucket: the repository's models plus a "faulty" model whose
/// every run throws inside the worker and a "hanging" one that never finishes.
/// </summary>
public sealed class SystemFixture : IAsyncLifetime
{
    public const int MaxQueueLength = 300;
    public const int DeliveryLimit = 2;

    /// <summary>How long ModelSync waits for a drained worker to come back with a new version: its default, 60 s. A worker
    /// restarts in under 10 s here, but 48 s was seen under load (`dotnet run` took 41 s to exec the worker beside another
    /// graph's restarts), which failed a 25 s step. The test of a version no worker can load checks that its rollback came
    /// sooner than this, from the worker's own report.</summary>
    public static readonly TimeSpan RolloutTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Workers' Worker:HangTimeout: short, so the hang test is quick; well above any real batch here.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(8);

    /// <summary>
    /// Gateway:ModelUnavailableGrace (30 s by default): how long a model may have no serving worker before jobs for it are
    /// refused. Short, so that test is quick; longer than stopping both workers takes under CI load (11 s seen), which the
    /// tests that queue jobs with no worker running do first.
    /// </summary>
    public static readonly TimeSpan ModelUnavailableGrace = TimeSpan.FromSeconds(15);

    /// <summary>
    /// ModelSync's ModelSync:PollInterval (5 s by default): how soon a version a test publishes or deletes is noticed.
    /// Each pass lists the bucket (a local folder here) and reads the manifests; only a new version is validated.
    /// </summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>The usage ledger's prices in this system: a default per job, and ocr-cls's own per job and per compute second.</summary>
    public const decimal PricePerJob = 0.002m;
    public const decimal ClsPricePerJob = 0.001m;
    public const decimal ClsPricePerComputeSecond = 0.5m;

    /// <summary>A copy of ocr-cls published at versions 1 and 2 from the start (served at 2): for tests that delete a version.</summary>
    public const string VersionedModel = "cls-versions";

    /// <summary>
    /// A copy of ocr-cls published at version 1 from the start, so every worker loads it when it starts: for the test whose
    /// next version no worker can load (a model first published later is only served after a rollout restarted every worker).
    /// </summary>
    public const string UnloadableNextModel = "cls-stuck";

    public AspireSystem Aspire { get; private set; } = null!;

    public string Bucket { get; } = AspireSystem.NewRunDirectory("bucket");

    /// <summary>Every service exports its traces, metrics and logs here (OTLP over HTTP/protobuf).</summary>
    public OtlpReceiver Otlp { get; } = new();

    /// <summary>
    /// The development account's API key, given to the AppHost (which makes it exist): every client the tests make sends
    /// it, as a user's would. The S3 system gets the same one.
    /// </summary>
    public static string ApiKey { get; } = "aik_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>The key of ModelSync's admin API, given to the AppHost for this run.</summary>
    public string AdminKey { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public string CacheConnection { get; private set; } = "";

    public string MessagingConnection { get; private set; } = "";

    /// <summary>
    /// When set, a worker replica started from now on reaches RabbitMQ at this address instead (a test's fault-injecting
    /// proxy): Aspire evaluates environment callbacks at each start, so restarting one replica routes just that one.
    /// </summary>
    public string? WorkerBrokerOverride { get; set; }

    /// <summary>One gateway replica's own address (index 0 or 1), not the proxy in front of both.</summary>
    public Uri Gateway(int replica = 0) => Aspire.GetEndpoint("gateway", replica);

    public async ValueTask InitializeAsync()
    {
        TestBucket.Create(Bucket);
        Aspire = await AspireSystem.StartAsync(AspireSystem.NewRunDirectory("integration"),
        [
            "--AppHost:Workers=2", "--AppHost:Gateways=2", "--AppHost:GatewayPort=0",
            $"--AppHost:Models={Bucket}", $"--AppHost:AdminKey={AdminKey}", $"--AppHost:ApiKey={ApiKey}",
            $"--AppHost:ServiceEnvironment:Jobs__MaxQueueLength={MaxQueueLength}",
            $"--AppHost:ServiceEnvironment:Jobs__DeliveryLimit={DeliveryLimit}",
            $"--AppHost:ServiceEnvironment:Worker__HangTimeout={HangTimeout}",
            $"--AppHost:ServiceEnvironment:ModelSync__RolloutTimeout={RolloutTimeout}",
            $"--AppHost:ServiceEnvironment:ModelSync__PollInterval={PollInterval}",
            $"--AppHost:ServiceEnvironment:Gateway__ModelUnavailableGrace={ModelUnavailableGrace}",
            $"--AppHost:ServiceEnvironment:Usage__DefaultPrice__PerJob={PricePerJob.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"--AppHost:ServiceEnvironment:Usage__Prices__ocr-cls__PerJob={ClsPricePerJob.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            $"--AppHost:ServiceEnvironment:Usage__Prices__ocr-cls__PerComputeSecond={ClsPricePerComputeSecond.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
            "--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            "--AppHost:ServiceEnvironment:OTEL_BSP_SCHEDULE_DELAY=500",
            $"--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_ENDPOINT={Otlp.Endpoint}",
        ], builder => builder.CreateResourceBuilder<ProjectResource>("worker").WithEnvironment(context =>
        {
            if (WorkerBrokerOverride is { } broker)
            {
                context.EnvironmentVariables["ConnectionStrings__messaging"] = broker;
            }
        }), TestContext.Current.CancellationToken);
        CacheConnection = await Aspire.GetConnectionStringAsync("cache");
        MessagingConnection = await Aspire.GetConnectionStringAsync("messaging");
    }

    public async ValueTask DisposeAsync()
    {
        // Begun when its test class ended (or now, if it never ran); a failed start was reported by that class.
        await S3SystemFixture.StopAsync();
        if (Aspire is not null)
        {
            Aspire.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "integration"));
            await Aspire.DisposeAsync();
        }
        Otlp.Dispose();
        Directory.Delete(Bucket, recursive: true);
    }
}

/// <summary>
/// A model bucket for the tests: links to the real models, plus a model that always fails in the worker, one that never
/// finishes, a copy of ocr-cls at two versions (its own files, so a test may delete one) and one at a single version.
/// </summary>
public static class TestBucket
{
    /// <summary>The repository's ocr-cls as {name}/{version}, optionally with other weights; the manifest is written last.</summary>
    public static string PublishClassifier(string bucket, string name, int version, byte[]? onnx = null)
    {
        var source = Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1");
        var directory = Directory.CreateDirectory(Path.Combine(bucket, name, version.ToString(System.Globalization.CultureInfo.InvariantCulture))).FullName;
        onnx ??= File.ReadAllBytes(Path.Combine(source, "model.onnx"));
        File.WriteAllBytes(Path.Combine(directory, "model.onnx"), onnx);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "model.json")))!.AsObject();
        manifest["name"] = name;
        manifest["version"] = version;
        manifest["files"] = new JsonArray(new JsonObject
        {
            ["path"] = "model.onnx",
            ["sha256"] = Convert.ToHexStringLower(SHA256.HashData(onnx)),
            ["size"] = onnx.Length,
        });
        File.WriteAllText(Path.Combine(directory, "model.json"), manifest.ToJsonString());
        return directory;
    }

    public static void Create(string bucket)
    {
        var models = Path.Combine(Projects.RepositoryInfo.Root, "models");
        Directory.CreateDirectory(bucket);
        foreach (var model in Directory.EnumerateDirectories(models))
        {
            Directory.CreateSymbolicLink(Path.Combine(bucket, Path.GetFileName(model)), model);
        }
        PublishClassifier(bucket, SystemFixture.VersionedModel, 1);
        PublishClassifier(bucket, SystemFixture.VersionedModel, 2);
        PublishClassifier(bucket, SystemFixture.UnloadableNextModel, 1);
        // A valid ONNX file whose second input the classifier never feeds: every run throws inside the worker.
        var faulty = Directory.CreateDirectory(Path.Combine(bucket, "faulty", "1")).FullName;
        File.Copy("/usr/share/libonnx-testdata/data/node/test_reshape_negative_dim/model.onnx", Path.Combine(faulty, "model.onnx"));
        File.WriteAllText(Path.Combine(faulty, "model.json"), """
            {
              "name": "faulty", "version": 1, "task": "image-classification",
              "description": "Loads, but every run fails: used to test retries and dead-lettering.",
              "input": { "layout": "NCHW", "colorOrder": "RGB", "resize": { "mode": "fixed", "width": 8, "height": 8 },
                         "mean": [0, 0, 0], "std": [1, 1, 1] },
              "labels": ["a", "b"],
              "postprocessing": { "type": "softmax-top-k", "k": 1 },
              "batching": { "maxBatchSize": 1, "maxQueueDelayMs": 0 }
            }
            """);
        // A valid model whose every run loops for days: to test deadlines of running jobs and the replacement of a hung worker.
        var hanging = Directory.CreateDirectory(Path.Combine(bucket, "hanging", "1")).FullName;
        File.WriteAllBytes(Path.Combine(hanging, "model.onnx"), TestSupport.OnnxModels.Hanging());
        File.WriteAllText(Path.Combine(hanging, "model.json"), """
            {
              "name": "hanging", "version": 1, "task": "image-classification",
              "description": "Loads, but every run loops (practically) forever: used to test deadlines and the worker's liveness.",
              "input": { "layout": "NCHW", "colorOrder": "RGB", "resize": { "mode": "fixed", "width": 8, "height": 8 },
                         "mean": [0, 0, 0], "std": [1, 1, 1] },
              "labels": ["a", "b", "c"],
              "postprocessing": { "type": "softmax-top-k", "k": 1 },
              "batching": { "maxBatchSize": 1, "maxQueueDelayMs": 0 }
            }
            """);
    }
}
