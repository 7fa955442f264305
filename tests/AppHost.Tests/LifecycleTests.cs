using System.Diagnostics;
using System.Net;
using TestSupport;

namespace AppHost.Tests;

/// <summary>The AppHost as a user runs it — `dotnet run --project AppHost`, the built AppHost — and how it stops.</summary>
[TestCaseOrderer(typeof(AzureRunLast))]
public sealed class LifecycleTests(LifecycleRuns runs) : IClassFixture<LifecycleRuns>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dotnet_run_prints_the_dashboard_login_whose_page_shows_the_graph_a_jobs_trace_and_the_model_commands_and_sigterm_leaves_no_process()
    {
        var run = runs.DotnetRun.Run;
        await using var apphost = runs.DotnetRun.AppHost;
        var log = TestContext.Current.TestOutputHelper;
        var login = await apphost.WaitForLineAsync("Login to the dashboard at ", TimeSpan.FromSeconds(120));
        log?.WriteLine($"dashboard login line {apphost.Uptime.TotalSeconds:0.0} s after the start");
        var gatewayLine = await apphost.WaitForLineAsync("Gateway ready: ", LifecycleRuns.StartTimeout);
        log?.WriteLine($"gateway ready {apphost.Uptime.TotalSeconds:0.0} s after the start");
        // The development account's key, printed beside the gateway's address: what a user sends with nothing registered.
        var apiKey = (await apphost.WaitForLineAsync("Development API key: ", TimeSpan.FromSeconds(10)))
            .Split("Development API key: ")[1].Split(' ')[0];

        var loginUrl = AppHostProcess.UrlAfter(login, "Login to the dashboard at ");
        Assert.Equal("/login", loginUrl.AbsolutePath);
        Assert.StartsWith("?t=", loginUrl.Query, StringComparison.Ordinal);
        Assert.Equal(18888, loginUrl.Port);
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() });
        // The dashboard has just started beside two other graphs' starts: once (2026-12-03) its first page closed the
        // connection before answering. A user would reload; so does this, twice at most, and says so.
        HttpResponseMessage dashboard;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                dashboard = await browser.GetAsync(loginUrl, Ct);
                break;
            }
            catch (HttpRequestException e) when (attempt < 3)
            {
                log?.WriteLine($"dashboard login page, attempt {attempt}: {e.Message} ({e.InnerException?.Message}); reloading");
                await Task.Delay(TimeSpan.FromSeconds(2), Ct);
            }
        }
        using (dashboard)
        {
            Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        }

        var gateway = AppHostProcess.UrlAfter(gatewayLine, "Gateway ready: ");
        Assert.Equal(8080, gateway.Port);
        using var http = new HttpClient();
        using var health = await http.GetAsync(new Uri(gateway, "/health"), Ct);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        // redis, epmd, beam.smp, modelsync, 2 workers, a gateway (and the dotnet hosts Aspire runs the projects in)
        Assert.True(ChildProcesses.WithMarker(run).Count >= 7, $"expected at least 7 processes of this run, found {ChildProcesses.WithMarker(run).Count}");

        var checks = Stopwatch.StartNew();
        await DashboardPage.ShowsEveryResourceAJobsTraceAndTheModelCommandsAsync(loginUrl, gateway, apiKey);
        log?.WriteLine($"dashboard checks took {checks.Elapsed.TotalSeconds:0.0} s");

        var stopped = await apphost.StopAsync(ChildProcesses.SigTerm, TimeSpan.FromSeconds(60));
        log?.WriteLine($"SIGTERM → exited after {stopped.TotalSeconds:0.0} s");
        Assert.Equal(0, apphost.ExitCode);
        await AssertNothingLeftAsync(run, apphost.AppHostPid, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Ctrl_c_to_the_apphost_stops_every_resource()
    {
        var run = runs.ForCtrlC.Run;
        await using var apphost = runs.ForCtrlC.AppHost;
        await apphost.WaitForLineAsync("Gateway ready: ", LifecycleRuns.StartTimeout);
        var processes = ChildProcesses.WithMarker(run);
        Assert.NotEmpty(processes);

        var stopped = await apphost.StopAsync(ChildProcesses.SigInt, TimeSpan.FromSeconds(60));
        TestContext.Current.TestOutputHelper?.WriteLine($"SIGINT → exited after {stopped.TotalSeconds:0.0} s");
        Assert.Equal(0, apphost.ExitCode);
        await AssertNothingLeftAsync(run, apphost.AppHostPid, TimeSpan.FromSeconds(10));
        Assert.All(processes, pid => Assert.False(ChildProcesses.IsAlive(pid), $"pid {pid} outlived the AppHost"));
    }

    [Fact]
    public async Task Graph_on_the_azure_bucket_serves_a_seeded_model_publishes_and_rolls_back_under_load_and_after_its_apphost_is_killed_dcp_stops_every_resource_within_30_seconds()
    {
        var run = runs.ForKill.Run;
        await using var apphost = runs.ForKill.AppHost;
        var gateway = AppHostProcess.UrlAfter(await apphost.WaitForLineAsync("Gateway ready: ", LifecycleRuns.StartTimeout), "Gateway ready: ");
        SuiteStage.LastGraphTestStarted();

        // The graph with `--bucket azure`: the services were given an Azure Storage connection string to azurite, which the
        // AppHost seeded; ModelSync validated the version from it, the worker loaded it, and a job through the gateway is
        // answered by that version.
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", runs.ApiKey);
        var image = await File.ReadAllBytesAsync(Path.Combine(Projects.RepositoryInfo.Root, "tests", "Engine.Tests", "Fixtures", "Ocr", "line-001.png"), Ct);
        var servedBy = DateTime.UtcNow.AddSeconds(90);
        System.Text.Json.JsonElement job;
        while (true)
        {
            using var response = await http.PostAsync("/v1/models/ocr-cls/predict", new ByteArrayContent(image), Ct);
            var body = await response.Content.ReadAsStringAsync(Ct);
            // Until a worker reports the model ready the gateway may not know it yet (404) or refuse it (503).
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < servedBy)
            {
                await Task.Delay(500, Ct);
                continue;
            }
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
            job = System.Text.Json.JsonDocument.Parse(body).RootElement.Clone();
            break;
        }
        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal(1, job.GetProperty("version").GetInt32());
        Assert.True(job.GetProperty("output").GetProperty("labels").GetArrayLength() > 0, job.GetRawText());
        var processes = ChildProcesses.WithMarker(run);
        Assert.Contains(processes, pid => ChildProcesses.CommandLine(pid).Contains("azurite", StringComparison.Ordinal));
        Assert.Contains(processes, pid => ChildProcesses.CommandLine(pid).Contains("epmd", StringComparison.Ordinal));

        await PublishAndRollBackUnderLoadAsync(apphost, http, image,
            processes.Select(pid => ChildProcesses.EnvironmentVariable(pid, "ConnectionStrings__models")).First(v => v is not null)!);

        var killed = Stopwatch.StartNew();
        ChildProcesses.Signal(apphost.AppHostPid, ChildProcesses.SigKill);
        while ((ChildProcesses.WithMarker(run).Count > 0 || ChildProcesses.MonitoredBy(apphost.AppHostPid).Count > 0) && killed.Elapsed < TimeSpan.FromSeconds(45))
        {
            await Task.Delay(250, Ct);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"kill -9 of the AppHost → every resource gone after {killed.Elapsed.TotalSeconds:0.0} s");
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(30), $"processes were left {killed.Elapsed.TotalSeconds:0} s after the AppHost died: {string.Join(", ", ChildProcesses.WithMarker(run).Select(ChildProcesses.CommandLine))}");
        Assert.All(processes, pid => Assert.False(ChildProcesses.IsAlive(pid), $"pid {pid} outlived the AppHost"));
    }

    /// <summary>
    /// A publish and a rollback on the Azure bucket while jobs run, as <c>S3ModelSyncTests</c> does on S3 with three
    /// workers: version 2 (the same weights) published into azurite with the CLI and rolled out to the worker, then rolled
    /// back with the CLI; every job of a steady load (3 clients, each submitting and following one job at a time) succeeds,
    /// none is lost, and their results switch from version 1 to 2 and back to 1.
    /// </summary>
    private static async Task PublishAndRollBackUnderLoadAsync(AppHostProcess apphost, HttpClient gateway, byte[] image, string bucket)
    {
        var log = TestContext.Current.TestOutputHelper;
        var adminLine = await apphost.WaitForLineAsync("ModelSync admin API: ", TimeSpan.FromSeconds(10));
        var modelsync = new Uri(AppHostProcess.UrlAfter(adminLine, "ModelSync admin API: "), "/");
        var adminKey = adminLine.Split("X-Admin-Key: ")[1].Trim();
        Assert.Contains("BlobEndpoint=http://127.0.0.1:", bucket, StringComparison.Ordinal);

        using var stop = new CancellationTokenSource();
        var finished = new System.Collections.Concurrent.ConcurrentBag<(string Status, int Version, DateTimeOffset At)>();
        var problems = new System.Collections.Concurrent.ConcurrentBag<string>();
        var load = Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var submitted = await gateway.PostAsync("/v1/models/ocr-cls/jobs", new ByteArrayContent(image), CancellationToken.None);
                var body = await submitted.Content.ReadAsStringAsync(CancellationToken.None);
                if (submitted.StatusCode != HttpStatusCode.Accepted)
                {
                    problems.Add($"submit {(int)submitted.StatusCode}: {body}");
                    await Task.Delay(250, CancellationToken.None);
                    continue;
                }
                var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString();
                while (true)
                {
                    using var polled = await gateway.GetAsync($"/v1/jobs/{id}?wait=20", CancellationToken.None);
                    var job = System.Text.Json.JsonDocument.Parse(await polled.Content.ReadAsStringAsync(CancellationToken.None)).RootElement;
                    var status = job.GetProperty("status").GetString()!;
                    if (status is "succeeded" or "failed" or "expired" or "cancelled")
                    {
                        finished.Add((status, job.TryGetProperty("version", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetInt32() : 0,
                            job.GetProperty("finishedAt").GetDateTimeOffset()));
                        break;
                    }
                }
            }
        }, CancellationToken.None)));
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
            var clock = Stopwatch.StartNew();
            var source = Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1");
            var (exit, stdout, stderr) = await RunCliAsync("models", "publish", source, "--model", "ocr-cls", "--bucket", bucket);
            Assert.True(exit == 0, stderr);
            Assert.Contains("published ocr-cls version 2", stdout);
            await WaitForRolloutAsync(modelsync, adminKey, to: 2);
            var rolledOut = clock.Elapsed;
            clock.Restart();
            (exit, stdout, stderr) = await RunCliAsync("models", "rollback", "ocr-cls", "--modelsync", modelsync.ToString(), "--admin-key", adminKey, "--wait");
            Assert.True(exit == 0, stderr);
            Assert.Contains("ocr-cls: every worker serves version 1", stdout);
            log?.WriteLine($"azure bucket: version 2 published and served by the worker in {rolledOut.TotalSeconds:0.0} s, rolled back to 1 in {clock.Elapsed.TotalSeconds:0.0} s");
            await Task.Delay(TimeSpan.FromSeconds(1), Ct);
        }
        finally
        {
            await stop.CancelAsync();
            await load.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
        }

        var versions = finished.OrderBy(f => f.At).Select(f => f.Version).ToList();
        log?.WriteLine($"{finished.Count} jobs: {string.Join(", ", finished.GroupBy(f => (f.Status, f.Version)).Select(g => $"{g.Key.Status} v{g.Key.Version}={g.Count()}"))}");
        Assert.Empty(problems);
        Assert.All(finished, f => Assert.Equal("succeeded", f.Status));
        Assert.True(versions.Count >= 20, $"only {versions.Count} jobs ran");
        var firstTwo = versions.IndexOf(2);
        Assert.True(firstTwo > 0 && versions[0] == 1, "results did not start with version 1 and switch to 2");
        Assert.Equal(1, versions[^1]);
    }

    private static async Task WaitForRolloutAsync(Uri modelsync, string adminKey, int to)
    {
        using var admin = new HttpClient { BaseAddress = modelsync, Timeout = TimeSpan.FromSeconds(10) };
        admin.DefaultRequestHeaders.Add("X-Admin-Key", adminKey);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            last = await admin.GetStringAsync("/admin/models", Ct);
            var model = System.Text.Json.JsonDocument.Parse(last).RootElement.EnumerateArray().FirstOrDefault(m => m.GetProperty("name").GetString() == "ocr-cls");
            if (model.ValueKind == System.Text.Json.JsonValueKind.Object && model.GetProperty("rollout") is { ValueKind: System.Text.Json.JsonValueKind.Object } rollout
                && rollout.GetProperty("state").GetString() == "succeeded" && rollout.GetProperty("to").GetInt32() == to)
            {
                return;
            }
            await Task.Delay(250, Ct);
        }
        Assert.Fail($"ocr-cls was not rolled out to version {to} within 90 s: {last}");
    }

    /// <summary>The CLI (Client), built beside this assembly's configuration, with its output.</summary>
    private static Task<(int Exit, string Stdout, string Stderr)> RunCliAsync(params string[] args) => BuiltCli.RunAsync(null, null, args, Ct);

    [Fact]
    public async Task Disposing_the_testing_application_stops_every_process_of_its_graph()
    {
        // The assembly's shared graph (Aspire.Hosting.Testing), whose dispose began as this class started.
        var shared = runs.Shared;
        Assert.True(shared.Processes.Count(p => p.CommandLine.Contains("Worker", StringComparison.Ordinal)) >= 2,
            $"expected the graph's two workers among its processes: {string.Join(", ", shared.Processes.Select(p => p.CommandLine))}");
        await shared.Stop.WaitAsync(TimeSpan.FromSeconds(120), Ct);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((ChildProcesses.WithMarker(shared.Run).Count > 0 || ChildProcesses.IsAlive(shared.CachePid)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, Ct);
        }
        Assert.Empty(ChildProcesses.WithMarker(shared.Run).Select(ChildProcesses.CommandLine));
        Assert.False(ChildProcesses.IsAlive(shared.CachePid), "redis-server outlived the application");
        Assert.All(shared.Processes, p => Assert.False(ChildProcesses.IsAlive(p.Pid), $"pid {p.Pid} ({p.CommandLine}) outlived the application"));
        Assert.False(Directory.Exists(shared.Run));
    }

    [Fact]
    public async Task A_missing_server_program_is_one_line_and_exit_code_1()
    {
        await using var apphost = AppHostProcess.Start(AspireSystem.NewRunDirectory("cli"),
            new() { ["AppHost__Executables__rabbitmq-server"] = "/nonexistent/rabbitmq-server" });
        await apphost.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(1, apphost.ExitCode);
        Assert.Equal(["apphost: messaging: '/nonexistent/rabbitmq-server' was not found; install it: sudo apt-get install -y rabbitmq-server (or run scripts/setup.sh)"],
            apphost.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", apphost.Stdout + apphost.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AppHost__Workers", "0", "apphost: --workers and --gateways take a number of at least 1.")]
    [InlineData("AppHost__ModelBucket", "ftp", "apphost: --bucket takes 'local', 's3' or 'azure', not 'ftp'.")]
    public async Task A_bad_setting_is_one_line_and_exit_code_2(string variable, string value, string message)
    {
        await using var apphost = AppHostProcess.Start(AspireSystem.NewRunDirectory("cli"), new() { [variable] = value });
        await apphost.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, apphost.ExitCode);
        Assert.Equal([message], apphost.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", apphost.Stdout + apphost.Stderr, StringComparison.Ordinal);
    }

    private static async Task AssertNothingLeftAsync(string run, int appHostPid, TimeSpan grace)
    {
        var waited = Stopwatch.StartNew();
        while ((ChildProcesses.WithMarker(run).Count > 0 || ChildProcesses.MonitoredBy(appHostPid).Count > 0) && waited.Elapsed < grace)
        {
            await Task.Delay(200, Ct);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"last process of the run gone {waited.Elapsed.TotalSeconds:0.0} s after the AppHost exited");
        Assert.Empty(ChildProcesses.WithMarker(run).Select(ChildProcesses.CommandLine));
        Assert.Empty(ChildProcesses.MonitoredBy(appHostPid).Select(ChildProcesses.CommandLine));
    }
}
