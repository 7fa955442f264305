using System.Net;
using System.Net.Http.Json;
using AppHost.Dashboard;
using AppHost.Hosting;
using Contracts.Jobs;
using Microsoft.Playwright;

namespace AppHost.Tests;

/// <summary>The AppHost's dashboard in real headless Chromium (Debian's), driven by Playwright.</summary>
[Collection(SystemFixture.Disruptive)]
public sealed class DashboardTests(SystemFixture fixture) : IAsyncLifetime
{
    private static readonly string Screenshots =
        Directory.CreateDirectory(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "screenshots")).FullName;

    private readonly DistributedApplication _app = fixture.App;
    private readonly DashboardServer _dashboard = fixture.Dashboard;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        // Leave the shared system as the next test expects it: every replica running.
        await _app.Model.WaitUntilAsync(m => m.Snapshots.All(s => s.IsRunning), TimeSpan.FromSeconds(90), CancellationToken.None);
    }

    [Fact]
    public async Task Without_the_token_every_page_and_the_hub_need_sign_in()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _dashboard.Url };

        var page = await http.GetAsync("/", Ct);
        var hub = await http.PostAsync("/hubs/dashboard/negotiate?negotiateVersion=1", null, Ct);
        var wrongToken = await http.GetAsync("/login?t=not-the-token", Ct);

        Assert.True(_dashboard.RequiresSignIn);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/login", page.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, hub.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongToken.StatusCode);
        Assert.False(wrongToken.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task An_unsecured_dashboard_serves_the_page_and_hub_without_sign_in()
    {
        await using var unsecured = await DashboardServer.StartAsync(_app, new DashboardOptions { Port = 0, Unsecured = true }, Ct);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = unsecured.Url };

        using var page = await http.GetAsync("/", Ct);
        using var hub = await http.PostAsync("/hubs/dashboard/negotiate?negotiateVersion=1", null, Ct);

        Assert.False(unsecured.RequiresSignIn);
        Assert.Equal(unsecured.Url, unsecured.LoginUrl);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<table>", await page.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.OK, hub.StatusCode);
    }

    [Fact]
    public async Task The_token_link_signs_in_and_the_page_lists_every_resource_as_running()
    {
        var page = await NewPageAsync(signIn: false);
        await page.GotoAsync(_dashboard.Url.ToString());
        await page.WaitForSelectorAsync("#login");
        await page.FillAsync("#t", "wrong");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#login");

        await page.GotoAsync(_dashboard.LoginUrl.ToString());
        await page.WaitForSelectorAsync("#connection[data-state=connected]");
        var names = _app.Model.Snapshots.Select(s => s.Name).ToList();
        foreach (var name in names)
        {
            await page.WaitForSelectorAsync($"tr[data-name='{name}'] .state[data-state=Running]");
        }

        Assert.Equal(names, await page.Locator("#resources tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.name)"));
        foreach (var s in _app.Model.Snapshots)
        {
            Assert.Equal(s.Pid.ToString(), await Cell(page, s.Name, "pid"));
            Assert.Equal(s.Kind, await Cell(page, s.Name, "kind"));
        }
        var gateway = _app.GetEndpoint("gateway").ToString().TrimEnd('/');
        Assert.Equal(gateway, await page.Locator("tr[data-name=gateway] .endpoints a").GetAttributeAsync("href"));
        // Workers show what their heartbeats say: the models they serve.
        await page.WaitForSelectorAsync("tr[data-name=worker-0] .models:not(:empty)");
        Assert.Contains(":", await Cell(page, "worker-0", "models"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-resources.png"), FullPage = true });
    }

    [Fact]
    public async Task A_killed_worker_leaves_running_on_the_page_and_comes_back_with_its_restart_count_raised()
    {
        var page = await NewPageAsync();
        var before = _app.Model.Get("worker-1")!;
        await page.WaitForSelectorAsync($"tr[data-name=worker-1] .pid:text-is('{before.Pid}')");

        ChildProcesses.Signal(before.Pid!.Value, ChildProcesses.SigKill);

        await page.WaitForSelectorAsync("tr[data-name=worker-1] .state:not([data-state=Running])", new() { Timeout = 30_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-worker-killed.png"), FullPage = true });
        await page.WaitForSelectorAsync(
            $"tr[data-name=worker-1]:has(.state[data-state=Running]):has(.restarts:text-is('{before.Restarts + 1}'))",
            new() { Timeout = 90_000 });
        var after = _app.Model.Get("worker-1")!;
        Assert.NotEqual(before.Pid, after.Pid);
        Assert.Equal(after.Pid.ToString(), await Cell(page, "worker-1", "pid"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-worker-restarted.png"), FullPage = true });
    }

    [Fact]
    public async Task The_restart_button_restarts_that_replica_only()
    {
        var page = await NewPageAsync();
        var before = _app.Model.Get("worker-1")!;
        var other = _app.Model.Get("worker-0")!;
        await page.WaitForSelectorAsync("tr[data-name=worker-1] .state[data-state=Running]");

        await page.ClickAsync("tr[data-name=worker-1] button[data-command=restart]");

        await _app.Model.WaitUntilAsync(
            m => m.Get("worker-1") is { State: ResourceState.Running } s && s.Pid != before.Pid && s.Restarts == before.Restarts + 1,
            TimeSpan.FromSeconds(90), Ct);
        await page.WaitForSelectorAsync(
            $"tr[data-name=worker-1]:has(.state[data-state=Running]):has(.restarts:text-is('{before.Restarts + 1}'))",
            new() { Timeout = 30_000 });
        Assert.Equal(other.Pid, _app.Model.Get("worker-0")!.Pid);
    }

    [Fact]
    public async Task Console_logs_stream_per_replica_and_the_filter_keeps_matching_lines()
    {
        var page = await NewPageAsync();
        await page.ClickAsync("tr[data-name=gateway] button[data-command=logs]");
        await page.WaitForSelectorAsync("#log-lines div");
        var expected = _app.GetConsoleLog("gateway").Lines.First(l => l.Text.Contains("Now listening on", StringComparison.Ordinal)).Text;

        await page.FillAsync("#log-filter", "now listening");

        var shown = await page.Locator("#log-lines div").AllTextContentsAsync();
        Assert.NotEmpty(shown);
        Assert.All(shown, l => Assert.Contains("now listening", l, StringComparison.OrdinalIgnoreCase));
        Assert.Contains(shown, l => l.EndsWith(expected, StringComparison.Ordinal));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-logs.png"), FullPage = true });
    }

    [Fact]
    public async Task Submitting_jobs_moves_the_throughput_and_latency_charts()
    {
        var page = await NewPageAsync();
        await page.ClickAsync("nav button[data-tab=metrics]");
        var image = await File.ReadAllBytesAsync(Path.Combine(Projects.RepositoryInfo.Root, "tests", "Engine.Tests", "Fixtures", "Ocr", "line-001.png"), Ct);
        using var http = _app.CreateHttpClient("gateway");

        for (var i = 0; i < 8; i++)
        {
            using var response = await http.PostAsync("/v1/models/ocr-cls/predict", new ByteArrayContent(image), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        foreach (var series in new[] { "accepted", "succeeded" })
        {
            await page.WaitForFunctionAsync(
                $"() => Number(document.querySelector('#chart-throughput polyline[data-series={series}]')?.dataset.max) > 0",
                null, new() { Timeout = 30_000 });
        }
        await page.WaitForFunctionAsync(
            "() => Number(document.querySelector('#chart-latency polyline[data-series=\"compute p50\"]')?.dataset.max) > 0",
            null, new() { Timeout = 30_000 });
        await page.WaitForSelectorAsync("#chart-batches rect");
        // Workers spent some of the last heartbeat interval inside model runs.
        await page.WaitForFunctionAsync(
            "() => [...document.querySelectorAll('#chart-utilisation polyline')].some(p => Number(p.dataset.max) > 0)",
            null, new() { Timeout = 30_000 });
        await page.WaitForSelectorAsync("#legend-queue span:has-text('ocr-cls')");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-metrics.png"), FullPage = true });
    }

    [Fact]
    public async Task Scaling_workers_up_adds_a_running_replica_and_down_drains_it_without_losing_a_job()
    {
        var page = await NewPageAsync();
        var scale = ".scale[data-resource=worker]";
        await page.WaitForSelectorAsync($"{scale} .count:text-is('2')");

        await page.ClickAsync($"{scale} button[data-command=scale-up]");

        // A new replica, supervised like the others: Running, its own port, and its heartbeat on the page.
        await page.WaitForSelectorAsync("tr[data-name=worker-2] .state[data-state=Running]", new() { Timeout = 90_000 });
        await page.WaitForSelectorAsync("tr[data-name=worker-2] .models:not(:empty)");
        await page.WaitForSelectorAsync($"{scale} .count:text-is('3')");
        Assert.Equal(new[] { "worker-0", "worker-1", "worker-2" },
            await page.Locator("#resources tbody tr[data-name^=worker]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.name)"));
        var added = _app.Model.Get("worker-2")!;
        Assert.Equal("worker", added.Resource);
        Assert.DoesNotContain(added.Endpoints.Single(), _app.Model.Snapshots.Where(s => s.Name != "worker-2").SelectMany(s => s.Endpoints));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-scaled-up.png"), FullPage = true });

        // Jobs before and while the new replica drains: each one must still succeed.
        using var http = _app.CreateHttpClient("gateway");
        var lines = Directory.GetFiles(Path.Combine(Projects.RepositoryInfo.Root, "tests", "Engine.Tests", "Fixtures", "Ocr"), "line-*.png");
        var images = await Task.WhenAll(lines.Select(l => File.ReadAllBytesAsync(l, Ct)));
        var ids = new List<string>();
        async Task SubmitAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                using var response = await http.PostAsync("/v1/models/ocr-rec/jobs", new ByteArrayContent(images[i % images.Length]), Ct);
                Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
                ids.Add((await response.Content.ReadFromJsonAsync<JobRecord>(Ct))!.Id);
            }
        }
        await SubmitAsync(8);
        await page.ClickAsync($"{scale} button[data-command=scale-down]");
        await SubmitAsync(8);

        await page.WaitForSelectorAsync("tr[data-name=worker-2]", new() { State = WaitForSelectorState.Detached, Timeout = 60_000 });
        await page.WaitForSelectorAsync("#command-result:text-is('worker-2 stopped and removed')");
        await page.WaitForSelectorAsync($"{scale} .count:text-is('2')");
        Assert.Null(_app.Model.Get("worker-2"));
        foreach (var id in ids)
        {
            var record = await http.GetFromJsonAsync<JobRecord>($"/v1/jobs/{id}?wait=30", Ct);
            Assert.Equal(JobStatus.Succeeded, record!.Status);
        }
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-scaled-down.png"), FullPage = true });
        // Only resources marked scalable take replicas at run time: a second ModelSync would run two rollouts.
        Assert.Contains("not scalable", Assert.Throws<InvalidOperationException>(() => _app.AddReplica("modelsync")).Message);
    }

    [Fact]
    public async Task The_models_panel_shows_versions_served_per_worker_and_rollback_answers_with_its_problem_code()
    {
        var page = await NewPageAsync();
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        await page.ClickAsync("nav button[data-tab=models]");

        var row = "#models tr[data-model=ocr-cls]";
        await page.WaitForSelectorAsync($"{row} .desired:text-is('1')");
        foreach (var worker in _app.Model.Snapshots.Where(s => s.Resource == "worker").Select(s => s.Name))
        {
            await page.WaitForSelectorAsync($"{row} .serving div[data-worker='{worker}']:text-is('{worker}: 1')");
        }
        Assert.Equal("", (await page.TextContentAsync($"{row} .pinned"))?.Trim());

        await page.ClickAsync($"{row} button[data-command=rollback]");

        // Version 1 is the only one: ModelSync refuses with its stable code, shown as such; nothing is pinned.
        await page.WaitForSelectorAsync("#model-result[data-code=no_previous_version]");
        Assert.Equal("false", await page.GetAttributeAsync("#model-result", "data-ok"));
        Assert.Contains("409 no_previous_version", await page.TextContentAsync("#model-result"));
        Assert.Contains("no valid version older than 1", await page.TextContentAsync("#model-result"));
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "dashboard-models.png"), FullPage = true });
        Assert.Equal("", (await page.TextContentAsync($"{row} .pinned"))?.Trim());
    }

    private async Task<IPage> NewPageAsync(bool signIn = true)
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 900 } });
        page.SetDefaultTimeout(30_000);
        if (signIn)
        {
            await page.GotoAsync(_dashboard.LoginUrl.ToString());
            await page.WaitForSelectorAsync("#connection[data-state=connected]");
            await page.WaitForSelectorAsync("#resources tbody tr");
        }
        return page;
    }

    private static async Task<string> Cell(IPage page, string replica, string column) =>
        (await page.Locator($"tr[data-name='{replica}'] .{column}").TextContentAsync() ?? "").Trim();
}
