using TestSupport;

namespace AppHost.Tests;

/// <summary>An AppHost process started for one test, and the run folder that marks every process it starts.</summary>
public sealed record StartedAppHost(string Run, AppHostProcess AppHost);

/// <summary>
/// The testing application started for the disposal test, and its run folder: the graph with the Azure Blob bucket
/// (azurite, seeded by the AppHost from <paramref name="Seed"/>), so one start also shows that graph serving a job.
/// </summary>
public sealed record StartedSystem(string Run, Task<AspireSystem> System, string Seed, string ApiKey);

/// <summary>
/// The runs <see cref="LifecycleTests"/> stop, all started at once when the class begins: `dotnet run --project AppHost`,
/// the built AppHost twice with one worker (for SIGINT and for kill -9) and the testing application on the Azure Blob bucket
/// (for the azure graph, then disposal; until 2026-12-03 a run of its own in ModelSync.Tests, 45 s after everything else). A start leaves the
/// cores idle much of the time (RabbitMQ's boot, health checks, hosts waiting for each other), so overlapped the four were
/// all up after about 90 s where one after another they took about 155 s (2026-12-02, 2 shared cores). Each run still
/// belongs to one test, which waits for it to be up, stops it its own way and checks what that run left.
/// (A filtered run of one of these tests starts all four.)
/// </summary>
public sealed class LifecycleRuns(SystemFixture system) : IAsyncLifetime
{
    /// <summary>How long a test waits for its run to be up: the four starts share the machine, and the first test waits for them all.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(300);

    public StartedAppHost DotnetRun { get; private set; } = null!;

    public StartedAppHost ForCtrlC { get; private set; } = null!;

    public StartedAppHost ForKill { get; private set; } = null!;

    public StartedSystem ForDisposal { get; private set; } = null!;

    public ValueTask InitializeAsync()
    {
        // These tests run last (LifecycleLast): no test needs the assembly's shared graph any more.
        _ = system.StopAsync();
        DotnetRun = Start(AppHostProcess.DotnetRun);
        // One worker each: what these two prove (every process of the run stops) does not need the second, and each
        // worker's start loads the models (CPU the four overlapped starts share).
        ForCtrlC = Start(run => AppHostProcess.Start(run, OneWorker));
        ForKill = Start(run => AppHostProcess.Start(run, OneWorker));
        var run = AspireSystem.NewRunDirectory("dispose");
        var cancellationToken = TestContext.Current.CancellationToken;
        // The Azure bucket's seed: ocr-cls version 1 from the repository's models.
        var seed = AspireSystem.NewRunDirectory("azureseed");
        Directory.CreateDirectory(Path.Combine(seed, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(seed, "ocr-cls", "1"), Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1"));
        // The gateway wants a key: the development account's, chosen here and made sure of by the gateway at start.
        var apiKey = "aik_" + System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        ForDisposal = new(run, Task.Run(() => AspireSystem.StartAsync(run,
            ["--AppHost:Workers=1", "--AppHost:GatewayPort=0", "--AppHost:ModelBucket=azure", $"--AppHost:Models={seed}", $"--AppHost:ApiKey={apiKey}",
             "--AppHost:ServiceEnvironment:ModelSync__PollInterval=00:00:01"],
            configure: null, cancellationToken), cancellationToken), seed, apiKey);
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops whatever a test did not (it failed first, or was filtered out).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var started in new[] { DotnetRun, ForCtrlC, ForKill })
        {
            await started.AppHost.DisposeAsync();
        }
        // A start that failed disposed itself (and the disposal test reported why).
        await ForDisposal.System.ContinueWith(_ => { }, TaskScheduler.Default);
        if (ForDisposal.System.IsCompletedSuccessfully)
        {
            await (await ForDisposal.System).DisposeAsync();
        }
        Directory.Delete(ForDisposal.Seed, recursive: true);
    }

    private static Dictionary<string, string> OneWorker => new() { ["AppHost__Workers"] = "1" };

    private static StartedAppHost Start(Func<string, AppHostProcess> start)
    {
        var run = AspireSystem.NewRunDirectory("cli");
        return new(run, start(run));
    }
}
