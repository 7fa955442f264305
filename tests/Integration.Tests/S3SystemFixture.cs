using TestSupport;

[assembly: AssemblyFixture(typeof(Integration.Tests.S3SystemFixture))]

namespace Integration.Tests;

/// <summary>
/// A second, smaller system with the S3 backend: the AppHost's s3rver seeded with ocr-cls version 1 only, one gateway,
/// three workers, ModelSync polling every second and draining up to two workers at once (<c>ModelSync__MaxUnavailable</c>).
/// Its own AppHost run (ports, Redis, RabbitMQ), beside the assembly's shared system. It starts when the assembly does,
/// overlapped with the shared system's start and first tests (a start leaves the cores idle much of the time), and the
/// S3 tests wait for it with <see cref="ReadyAsync"/>: one after the other, the two starts added ~35 s to the suite.
/// </summary>
public sealed class S3SystemFixture : IAsyncLifetime
{
    public const int Workers = 3;
    public const int MaxUnavailable = 2;

    private Task? _start;

    /// <summary>The started system; only after <see cref="ReadyAsync"/>.</summary>
    public AspireSystem Aspire { get; private set; } = null!;

    public string AdminKey { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>The tree the bucket is seeded from: ocr-cls/1 of the repository.</summary>
    public string Seed { get; } = AspireSystem.NewRunDirectory("s3seed");

    /// <summary><c>ConnectionStrings__models</c> as the services get it: s3://models?endpoint=…</summary>
    public string Bucket { get; private set; } = "";

    /// <summary>
    /// Where this system's services export OTLP. Without a collector that answers, each service's shutdown waits ~5 s for its
    /// exporters to give up (seen as a drained worker killed by the liveness probe, exit -1, in every rollout step).
    /// </summary>
    public OtlpReceiver Otlp { get; } = new();

    public ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Seed, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(Seed, "ocr-cls", "1"), Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1"));
        var cancellationToken = TestContext.Current.CancellationToken;
        _start = Task.Run(() => StartAsync(cancellationToken), cancellationToken);
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits for the start begun with the assembly; a start that failed fails the test that waits, with its reason.</summary>
    public Task ReadyAsync() => _start ?? throw new InvalidOperationException("the S3 system was not initialized");

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        Aspire = await AspireSystem.StartAsync(AspireSystem.NewRunDirectory("s3"),
        [
            $"--AppHost:Workers={Workers}", "--AppHost:Gateways=1", "--AppHost:GatewayPort=0", "--AppHost:ModelBucket=s3",
            $"--AppHost:Models={Seed}", $"--AppHost:AdminKey={AdminKey}", $"--AppHost:ApiKey={SystemFixture.ApiKey}",
            "--AppHost:ServiceEnvironment:ModelSync__PollInterval=00:00:01",
            $"--AppHost:ServiceEnvironment:ModelSync__MaxUnavailable={MaxUnavailable}",
            "--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            $"--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_ENDPOINT={Otlp.Endpoint}",
        ], configure: null, cancellationToken);
        Bucket = await Aspire.GetConnectionStringAsync("models");
    }

    public async ValueTask DisposeAsync()
    {
        if (_start is not null)
        {
            // A start that failed disposed what it had started (and the S3 test reported why).
            await _start.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        if (Aspire is not null)
        {
            Aspire.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "integration-s3"));
            await Aspire.DisposeAsync();
        }
        Otlp.Dispose();
        Directory.Delete(Seed, recursive: true);
    }
}
