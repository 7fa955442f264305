using System.Net;
using Microsoft.Playwright;

namespace AppHost.Tests;

/// <summary>
/// Aspire's dashboard as a user opens it: the login link the AppHost prints, in real headless Chromium (Debian's),
/// showing the graph's resources, a job's trace across gateway and worker, and the model resources with their commands.
/// Run by <see cref="LifecycleTests"/> on the AppHost that `dotnet run --project AppHost` started (one start for both).
/// </summary>
internal static class DashboardPage
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string Screenshots => Directory.CreateDirectory(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "screenshots")).FullName;

    public static async Task ShowsEveryResourceAJobsTraceAndTheModelCommandsAsync(Uri login, Uri gateway, string apiKey)
    {

        // One job through the system, so the dashboard has its trace.
        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        var image = await File.ReadAllBytesAsync(Path.Combine(Projects.RepositoryInfo.Root, "tests", "Engine.Tests", "Fixtures", "Ocr", "line-001.png"), Ct);
        HttpStatusCode status = 0;
        for (var attempt = 0; attempt < 60 && status != HttpStatusCode.OK; attempt++)
        {
            using var content = new ByteArrayContent(image);
            content.Headers.ContentType = new("image/png");
            using var response = await http.PostAsync("/v1/models/ocr-cls/predict", content, Ct);
            status = response.StatusCode;
            if (status != HttpStatusCode.OK)
            {
                await Task.Delay(1000, Ct); // the model is not served until ModelSync validated it and the workers loaded it
            }
        }
        Assert.Equal(HttpStatusCode.OK, status);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1600, Height = 1000 } });
        page.SetDefaultTimeout(60_000);

        // Resources: every process of the graph Running, each worker replica on a row of its own, each model with its version.
        await page.GotoAsync(login.ToString());
        await page.GetByText("gateway", new() { Exact = true }).First.WaitForAsync();
        var model = page.Locator("[role=row]").Filter(new() { HasText = "model-ocr-cls" }).First;
        await model.GetByText(new System.Text.RegularExpressions.Regex(@"Serving v\s?1")).WaitForAsync(new() { Timeout = 120_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "aspire-dashboard-resources.png"), FullPage = true });
        foreach (var name in new[] { "cache", "messaging", "messaging-epmd", "modelsync", "gateway" })
        {
            var row = page.Locator("[role=row]").Filter(new() { Has = page.GetByText(name, new() { Exact = true }) }).First;
            Assert.Contains("Running", await row.InnerTextAsync(), StringComparison.Ordinal);
        }
        var workers = page.Locator("[role=row]").Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex(@"worker-[a-z0-9]{8}") });
        Assert.Equal(2, await workers.CountAsync());
        Assert.All(await workers.AllInnerTextsAsync(), w => Assert.Contains("Running", w, StringComparison.Ordinal));

        // The model's Roll back command, from its row: confirmed, it answers with ModelSync's problem code (v1 is the only version).
        await model.Locator("fluent-button[title^='Pin the newest valid version']").First.ClickAsync();
        await page.GetByText("Roll ocr-cls back to its previous valid version?").WaitForAsync();
        await page.Locator("fluent-dialog fluent-button").Filter(new() { HasText = "Yes" }).First.ClickAsync();
        await page.GetByText("no_previous_version: ocr-cls has no valid version older than 1.").First.WaitForAsync(new() { Timeout = 30_000 });

        // Traces: the job's trace holds the gateway's and a worker's spans: submit job → run job, and push job update (the
        // gateway answering the waiting predict request).
        await page.GotoAsync(new Uri(login, "/traces").ToString());
        var trace = page.Locator("[role=row]").Filter(new() { HasText = "worker-" }).Filter(new() { HasText = "gateway (" }).First;
        await trace.WaitForAsync(new() { Timeout = 60_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "aspire-dashboard-traces.png"), FullPage = true });
        await trace.GetByText("gateway:").First.ClickAsync();
        await page.GetByText("run job").First.WaitForAsync(new() { Timeout = 60_000 });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "aspire-dashboard-trace.png"), FullPage = true });
        var spans = page.Locator("[role=row]");
        foreach (var (span, resource) in new[] { ("submit job", "gateway"), ("run job", "worker-"), ("push job update", "gateway") })
        {
            Assert.Contains(resource, await spans.Filter(new() { Has = page.GetByText(span, new() { Exact = true }) }).First.InnerTextAsync(), StringComparison.Ordinal);
        }
    }
}
