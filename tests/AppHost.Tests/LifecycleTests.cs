using System.Diagnostics;
using AppHost.Hosting;
using AppHost.Testing;

namespace AppHost.Tests;

/// <summary>Start-up failures and shutdown, each on a graph of its own.</summary>
public sealed class LifecycleTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Disposing_the_application_stops_redis_rabbitmq_and_epmd_and_removes_the_run_folder()
    {
        var builder = DistributedApplicationTestingBuilder.CreateEmpty();
        builder.AddRedis("cache");
        var rabbit = builder.AddRabbitMQ("messaging");
        var app = builder.Build();
        List<int> pids, children;
        try
        {
            await app.StartAsync(Ct);
            pids = app.Model.Snapshots.Select(s => s.Pid!.Value).ToList();
            // redis-server rewrites its environment block for its process title, so it is found by PID;
            // the Erlang VM's helpers (epmd, erl_child_setup, inet_gethost) are found by the marker.
            children = ChildProcesses.WithMarker(app.Options.RunDirectory);
            Assert.Contains(app.Model.Get("messaging")!.Pid!.Value, children);
            Assert.Contains(children, pid => ChildProcesses.CommandLine(pid).Contains("epmd"));
            Assert.True(rabbit.Resource.EpmdPort > 0);
        }
        finally
        {
            await app.DisposeAsync();
        }

        Assert.Empty(ChildProcesses.WithMarker(app.Options.RunDirectory));
        Assert.All(pids.Concat(children), pid => Assert.False(ChildProcesses.IsAlive(pid), $"pid {pid} outlived the AppHost"));
        Assert.False(Directory.Exists(app.Options.RunDirectory));
        Assert.All(app.Model.Snapshots, s => Assert.Equal(ResourceState.Exited, s.State));
    }

    [Fact]
    public async Task A_missing_server_executable_is_reported_before_anything_starts()
    {
        var builder = DistributedApplicationTestingBuilder.CreateEmpty(
            executables: new() { ["redis-server"] = "/nonexistent/redis-server" });
        builder.AddRedis("cache");
        await using var app = builder.Build();

        var error = await Assert.ThrowsAsync<MissingPrerequisiteException>(() => app.StartAsync(Ct));

        Assert.Equal("cache: '/nonexistent/redis-server' was not found; install it: sudo apt-get install -y redis-server (or run scripts/setup.sh)", error.Message);
        Assert.Empty(app.Model.Snapshots);
    }

    [Fact]
    public async Task The_apphost_command_prints_one_line_when_a_prerequisite_is_missing()
    {
        var run = await RunAppHostAsync(
            new() { ["AppHost__Executables__rabbitmq-server"] = "/nonexistent/rabbitmq-server" },
            untilOutput: null);

        Assert.Equal(1, run.ExitCode);
        var errorLines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["apphost: messaging: '/nonexistent/rabbitmq-server' was not found; install it: sudo apt-get install -y rabbitmq-server (or run scripts/setup.sh)"], errorLines);
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr);
    }

    [Fact]
    public async Task The_apphost_command_prints_one_line_for_a_bad_replica_count()
    {
        var run = await RunAppHostAsync(new() { ["AppHost__Workers"] = "0" }, untilOutput: null);

        Assert.Equal(2, run.ExitCode);
        var errorLines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["apphost: --workers and --gateways take a number of at least 1."], errorLines);
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr);
    }

    [Fact]
    public async Task The_apphost_command_runs_everything_then_ctrl_c_leaves_no_process_behind()
    {
        var runDirectory = Path.Combine(Projects.RepositoryInfo.Root, ".run", "tests", $"cli-{Guid.NewGuid():N}"[..16]);
        var run = await RunAppHostAsync(
            new() { ["AppHost__RunDirectory"] = runDirectory, ["AppHost__GatewayPort"] = "0", ["AppHost__Workers"] = "2" },
            untilOutput: "apphost: all resources running",
            whileRunning: async (stdout) =>
            {
                var gatewayLine = stdout.Split('\n').First(l => l.TrimStart().StartsWith("gateway: ", StringComparison.Ordinal));
                var url = gatewayLine.Trim()["gateway: ".Length..].Split(' ')[0];
                using var http = new HttpClient();
                using var health = await http.GetAsync(new Uri(new Uri(url), "/health"), Ct);
                Assert.Equal(System.Net.HttpStatusCode.OK, health.StatusCode);
                // The dashboard link it prints signs a browser in (the cookie then opens the page).
                var dashboardLine = stdout.Split('\n').First(l => l.StartsWith("apphost: dashboard: ", StringComparison.Ordinal));
                var login = new Uri(dashboardLine["apphost: dashboard: ".Length..].Trim());
                Assert.Equal("/login", login.AbsolutePath);
                Assert.StartsWith("?t=", login.Query);
                using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer() });
                var page = await browser.GetStringAsync(login, Ct);
                Assert.Contains("<table>", page);
                var children = ChildProcesses.WithMarker(runDirectory);
                // redis, beam.smp, epmd, modelsync, 2 workers, gateway
                Assert.True(children.Count >= 7, $"expected at least 7 child processes, found {children.Count}");
            });

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("apphost: stopped", run.Stdout);
        Assert.Empty(ChildProcesses.WithMarker(runDirectory));
        Directory.Delete(runDirectory, recursive: true);
    }

    private sealed record AppHostRun(int ExitCode, string Stdout, string Stderr);

    /// <summary>Runs the built AppHost like a user would; once <paramref name="untilOutput"/> appears, runs the check and sends Ctrl+C (SIGINT).</summary>
    private static async Task<AppHostRun> RunAppHostAsync(Dictionary<string, string> environment, string? untilOutput, Func<string, Task>? whileRunning = null)
    {
        var appHostDll = Path.Combine(Projects.RepositoryInfo.Root, "AppHost", "bin", new Projects.Gateway().Configuration, "net10.0", "AppHost.dll");
        var info = new ProcessStartInfo("dotnet", [appHostDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (k, v) in environment)
        {
            info.Environment[k] = v;
        }
        info.Environment.TryAdd("AppHost__RunDirectory", Path.Combine(Projects.RepositoryInfo.Root, ".run", "tests", $"cli-{Guid.NewGuid():N}"[..16]));
        info.Environment.TryAdd("AppHost__GatewayPort", "0");
        info.Environment.TryAdd("Dashboard__Port", "0");

        using var process = Process.Start(info)!;
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
            if (untilOutput is not null && e.Data.Contains(untilOutput))
            {
                seen.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(150));
        try
        {
            if (untilOutput is not null)
            {
                await Task.WhenAny(seen.Task, process.WaitForExitAsync(timeout.Token));
                Assert.True(seen.Task.IsCompleted, $"AppHost never printed '{untilOutput}'. stdout:\n{stdout}\nstderr:\n{stderr}");
                await Task.Delay(500, Ct); // let the summary finish printing
                string snapshot;
                lock (stdout)
                {
                    snapshot = stdout.ToString();
                }
                try
                {
                    await whileRunning!(snapshot);
                }
                finally
                {
                    ChildProcesses.Signal(process.Id, ChildProcesses.SigInt);
                }
            }
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        process.WaitForExit();
        return new AppHostRun(process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
