using TestSupport;

namespace Integration.Tests;

/// <summary>
/// A second, smaller system with the S3 backend: the AppHost's s3rver seeded with ocr-cls version 1 only, one gateway,
/// three workers, ModelSync polling every second and draining up to two workers at once (<c>ModelSync__MaxUnavailable</c>).
/// Its own AppHost run (ports, Redis, RabbitMQ), beside the assembly's shared system.
/// <para>
/// Its test class runs first (<see cref="S3First"/>), and this fixture's dispose only begins the stop, which the assembly
/// fixture awaits at the end: its stop (~10 s) overlaps the next test instead of adding to the run. (Tried 2026-12-03: its
/// start begun by <see cref="SystemFixture"/> beside the shared system's. The two starts took 65 s instead of 40 + 34, but
/// the S3 test then ran while the shared system still validated its ten models, and took 124 s where 76–106 s is usual.)
/// </para>
/// </summary>
public sealed class S3SystemFixture : IAsyncLifetime
{
    public const int Workers = 3;
    public const int MaxUnavailable = 2;

    private static readonly Lock Gate = new();
    private static Task<S3System>? s_started;
    private static Task? s_stopped;

    private S3System _system = null!;

    public AspireSystem Aspire => _system.Aspire;

    public string AdminKey => _system.AdminKey;

    /// <summary><c>ConnectionStrings__models</c> as the services get it: s3://models?endpoint=…</summary>
    public string Bucket => _system.Bucket;

    /// <summary>Starts the S3 system unless it is started already; the same task every time.</summary>
    private static Task<S3System> Start()
    {
        lock (Gate)
        {
            return s_started ??= Task.Run(S3System.StartAsync);
        }
    }

    /// <summary>Stops the S3 system if it was started (once; the task of that stop): by this fixture's dispose, or at the end.</summary>
    public static Task StopAsync()
    {
        lock (Gate)
        {
            return s_stopped ??= s_started is null ? Task.CompletedTask : s_started.ContinueWith(
                async started => { if (started.IsCompletedSuccessfully) { await started.Result.DisposeAsync(); } },
                TaskScheduler.Default).Unwrap();
        }
    }

    public async ValueTask InitializeAsync() => _system = await Start();

    public ValueTask DisposeAsync()
    {
        _ = StopAsync();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The S3 system's run: its testing application, admin key, bucket seed and OTLP receiver.</summary>
public sealed class S3System : IAsyncDisposable
{
    private S3System(AspireSystem aspire, string adminKey, string seed, string bucket, OtlpReceiver otlp)
    {
        Aspire = aspire;
        AdminKey = adminKey;
        Seed = seed;
        Bucket = bucket;
        Otlp = otlp;
    }

    public AspireSystem Aspire { get; }

    public string AdminKey { get; }

    /// <summary>The tree the bucket is seeded from: ocr-cls/1 of the repository.</summary>
    public string Seed { get; }

    public string Bucket { get; }

    /// <summary>
    /// Where this system's services export OTLP. Without a collector that answers, each service's shutdown waits ~5 s for its
    /// exporters to give up (seen as a drained worker killed by the liveness probe, exit -1, in every rollout step).
    /// </summary>
    public OtlpReceiver Otlp { get; }

    public static async Task<S3System> StartAsync()
    {
        var adminKey = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var seed = AspireSystem.NewRunDirectory("s3seed");
        var otlp = new OtlpReceiver();
        try
        {
            Directory.CreateDirectory(Path.Combine(seed, "ocr-cls"));
            Directory.CreateSymbolicLink(Path.Combine(seed, "ocr-cls", "1"), Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1"));
            var aspire = await AspireSystem.StartAsync(AspireSystem.NewRunDirectory("s3"),
            [
                $"--AppHost:Workers={S3SystemFixture.Workers}", "--AppHost:Gateways=1", "--AppHost:GatewayPort=0", "--AppHost:ModelBucket=s3",
                $"--AppHost:Models={seed}", $"--AppHost:AdminKey={adminKey}", $"--AppHost:ApiKey={SystemFixture.ApiKey}",
                "--AppHost:ServiceEnvironment:ModelSync__PollInterval=00:00:01",
                $"--AppHost:ServiceEnvironment:ModelSync__MaxUnavailable={S3SystemFixture.MaxUnavailable}",
                "--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
                $"--AppHost:ServiceEnvironment:OTEL_EXPORTER_OTLP_ENDPOINT={otlp.Endpoint}",
            ], configure: null, CancellationToken.None);
            return new S3System(aspire, adminKey, seed, await aspire.GetConnectionStringAsync("models"), otlp);
        }
        catch
        {
            otlp.Dispose();
            Directory.Delete(seed, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Aspire.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "integration-s3"));
        await Aspire.DisposeAsync();
        Otlp.Dispose();
        Directory.Delete(Seed, recursive: true);
    }
}

/// <summary>Runs <see cref="S3ModelSyncTests"/> before every other class (the others keep xUnit's order): see <see cref="S3SystemFixture"/>.</summary>
public sealed class S3First : Xunit.v3.ITestCollectionOrderer
{
    public IReadOnlyCollection<TTestCollection> OrderTestCollections<TTestCollection>(IReadOnlyCollection<TTestCollection> testCollections)
        where TTestCollection : Xunit.Sdk.ITestCollection =>
        [.. Xunit.v3.DefaultTestCollectionOrderer.Instance.OrderTestCollections(testCollections)
            .OrderBy(c => c.TestCollectionDisplayName.Contains(nameof(S3ModelSyncTests), StringComparison.Ordinal) ? 0 : 1)];
}
