using TestSupport;

namespace AppHost.Tests;

/// <summary>An AppHost process started for one test, and the run folder that marks every process it starts.</summary>
public sealed record StartedAppHost(string Run, AppHostProcess AppHost);

/// <summary>
/// The assembly's shared graph as its stop began: its run folder (the marker on its processes), its processes then (with
/// their command lines), and the stop itself (the testing application's dispose).
/// </summary>
public sealed record StoppedSystem(string Run, IReadOnlyList<(int Pid, string CommandLine)> Processes, int CachePid, Task Stop);

/// <summary>
/// The runs <see cref="LifecycleTests"/> stop, all started at once when the class begins: `dotnet run --project AppHost`,
/// the built AppHost twice with one worker (for SIGINT, and on the Azure Blob bucket for a job and then kill -9) — and the
/// assembly's shared graph, whose testing application is disposed meanwhile. A start leaves the cores idle much of the
/// time (RabbitMQ's boot, health checks, hosts waiting for each other), so overlapped the starts are all up sooner than
/// one after another (four took about 90 s where they took about 155 s in turn, 2026-12-02, 2 shared cores). Until
/// 2026-12-03 the Azure graph was a fourth start, a testing application of its own, for the disposal test; the shared
/// graph's dispose shows the same. Each run still belongs to one test, which waits for it to be up, stops it its own way
/// and checks what that run left. (A filtered run of one of these tests starts all three.)
/// </summary>
public sealed class LifecycleRuns(SystemFixture system) : IAsyncLifetime
{
    /// <summary>How long a test waits for its run to be up: the starts share the machine, and the first test waits for them all.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(300);

    public StartedAppHost DotnetRun { get; private set; } = null!;

    public StartedAppHost ForCtrlC { get; private set; } = null!;

    /// <summary>The graph with <c>--bucket azure</c> (azurite, seeded by the AppHost from <see cref="Seed"/>), killed with -9.</summary>
    public StartedAppHost ForKill { get; private set; } = null!;

    public StoppedSystem Shared { get; private set; } = null!;

    /// <summary>The Azure bucket's seed: ocr-cls version 1 from the repository's models.</summary>
    public string Seed { get; } = AspireSystem.NewRunDirectory("azureseed");

    /// <summary>The gateway of <see cref="ForKill"/> wants a key: the development account's, chosen here and made sure of by the gateway at start.</summary>
    public string ApiKey { get; } = "aik_" + System.Buffers.Text.Base64Url.EncodeToString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public ValueTask InitializeAsync()
    {
        // These tests run last (LifecycleLast): no test needs the assembly's shared graph any more.
        Shared = new(system.Aspire.RunDirectory, [.. ChildProcesses.WithMarker(system.Aspire.RunDirectory).Select(pid => (pid, ChildProcesses.CommandLine(pid)))],
            system.Aspire.Replica("cache").Pid!.Value, system.StopAsync());
        DotnetRun = Start(AppHostProcess.DotnetRun);
        // One worker each: what these two prove (every process of the run stops) does not need the second, and each
        // worker's start loads the models (CPU the overlapped starts share).
        ForCtrlC = Start(run => AppHostProcess.Start(run, OneWorker));
        Directory.CreateDirectory(Path.Combine(Seed, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(Seed, "ocr-cls", "1"), Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1"));
        ForKill = Start(run => AppHostProcess.Start(run, new(OneWorker)
        {
            ["AppHost__ModelBucket"] = "azure",
            ["AppHost__Models"] = Seed,
            ["AppHost__ApiKey"] = ApiKey,
            ["AppHost__ServiceEnvironment__ModelSync__PollInterval"] = "00:00:01",
            // Its one worker is drained twice under load (a publish, a rollback): while it restarts no worker serves the
            // model, and on the machine the other starts share that can outlast the gateway's default 30 s grace.
            ["AppHost__ServiceEnvironment__Gateway__ModelUnavailableGrace"] = "00:02:00",
        }));
        return ValueTask.CompletedTask;
    }

    /// <summary>Stops whatever a test did not (it failed first, or was filtered out).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var started in new[] { DotnetRun, ForCtrlC, ForKill })
        {
            await started.AppHost.DisposeAsync();
        }
        Directory.Delete(Seed, recursive: true);
    }

    private static Dictionary<string, string> OneWorker => new() { ["AppHost__Workers"] = "1" };

    private static StartedAppHost Start(Func<string, AppHostProcess> start)
    {
        var run = AspireSystem.NewRunDirectory("cli");
        return new(run, start(run));
    }
}
