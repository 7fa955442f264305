using TestSupport;

namespace Integration.Tests;

/// <summary>
/// A second, smaller system with the S3 backend: the AppHost's s3rver seeded with ocr-cls version 1 only, one gateway,
/// three workers, ModelSync polling every second and draining up to two workers at once (<c>ModelSync__MaxUnavailable</c>).
/// Its own AppHost run (ports, Redis, RabbitMQ), beside the assembly's shared system.
/// </summary>
public sealed class S3SystemFixture : IAsyncLifetime
{
    public const int Workers = 3;
    public const int MaxUnavailable = 2;

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

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Seed, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(Seed, "ocr-cls", "1"), Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1"));
        Aspire = await AspireSystem.StartAsync(AspireSystem.NewRunDirectory("s3"),
        [
            $"--AppHost:Workers={Workers}", "--AppHost:Gateways=1", "--AppHost:GatewayPort=0", "--AppHost:ModelBucket=s3",
            $"--AppHost:Models={Seed}", $"--AppHost:AdminKey={AdminKey}", $"--AppHost:ApiKey={SystemFixture.ApiKey}",
            "--AppHost:ServiceEnvironment:ModelSync__PollInterval=00:00:01",
            $"--AppHost:ServiceEnvironment:ModelSync__MaxUnavailable={MaxUnavailable}",
            "--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
            $"--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_ENDPOINT={Otlp.Endpoint}",
        ], configure: null, TestContext.Current.CancellationToken);
        Bucket = await Aspire.GetConnectionStringAsync("models");
    }

    public async ValueTask DisposeAsync()
    {
        if (Aspire is not null)
        {
            Aspire.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "integration-s3"));
            await Aspire.DisposeAsync();
        }
        Otlp.Dispose();
        Directory.Delete(Seed, recursive: true);
    }
}
