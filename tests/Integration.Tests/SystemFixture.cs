using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using TestSupport;

[assembly: AssemblyFixture(typeof(Integration.Tests.SystemFixture))]
// Some tests stop workers or fill queues: they must not overlap with others.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

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

    /// <summary>How long ModelSync waits for a drained worker to come back with a new version (60 s by default): a worker
    /// restarts in under 10 s here, and the test of a version no worker can load waits this long.</summary>
    public static readonly TimeSpan RolloutTimeout = TimeSpan.FromSeconds(25);

    /// <summary>Workers' Worker:HangTimeout: short, so the hang test is quick; well above any real batch here.</summary>
    public static readonly TimeSpan HangTimeout = TimeSpan.FromSeconds(8);

    public AspireSystem Aspire { get; private set; } = null!;

    public string Bucket { get; } = AspireSystem.NewRunDirectory("bucket");

    /// <summary>Every service exports its traces, metrics and logs here (OTLP over HTTP/protobuf).</summary>
    public OtlpReceiver Otlp { get; } = new();

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
            $"--AppHost:Models={Bucket}", $"--AppHost:AdminKey={AdminKey}",
            $"--AppHost:ServiceEnvironment:Jobs__MaxQueueLength={MaxQueueLength}",
            $"--AppHost:ServiceEnvironment:Jobs__DeliveryLimit={DeliveryLimit}",
            $"--AppHost:ServiceEnvironment:Worker__HangTimeout={HangTimeout}",
            $"--AppHost:ServiceEnvironment:ModelSync__RolloutTimeout={RolloutTimeout}",
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
        if (Aspire is not null)
        {
            Aspire.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "integration"));
            await Aspire.DisposeAsync();
        }
        Otlp.Dispose();
        Directory.Delete(Bucket, recursive: true);
    }
}

/// <summary>A model bucket for the tests: links to the real models, plus a model that always fails in the worker and one that never finishes.</summary>
public static class TestBucket
{
    public static void Create(string bucket)
    {
        var models = Path.Combine(Projects.RepositoryInfo.Root, "models");
        Directory.CreateDirectory(bucket);
        foreach (var model in Directory.EnumerateDirectories(models))
        {
            Directory.CreateSymbolicLink(Path.Combine(bucket, Path.GetFileName(model)), model);
        }
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
