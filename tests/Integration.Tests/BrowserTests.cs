using Microsoft.Playwright;

namespace Integration.Tests;

/// <summary>The browser client in real headless Chromium (Debian's), driven by Playwright.</summary>
public sealed class BrowserTests(SystemFixture system)
{
    [Fact]
    public async Task Page_uploads_an_image_and_shows_the_recognized_text_live()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 800 } });
        await page.GotoAsync(system.Gateway().ToString());
        await page.WaitForSelectorAsync("#connection[data-state=connected]");
        await page.SelectOptionAsync("#model", "ocr");

        await page.SetInputFilesAsync("#file", Path.Combine(Fixtures.OcrDirectory, "page-2.png"));
        await page.WaitForSelectorAsync("#status[data-state=succeeded]", new PageWaitForSelectorOptions { Timeout = 60_000 });

        var lines = await page.Locator("[data-testid=lines] li").AllInnerTextsAsync();
        var expected = Fixtures.PageLines("page-2.png");
        Assert.Equal(expected.Count, lines.Count);
        // Text accuracy is measured in Engine.Tests; here: the page shows each line the pipeline read, live.
        var recognized = lines.Count(l => expected.Any(e => l.StartsWith(e, StringComparison.Ordinal)));
        Assert.True(recognized * 2 >= expected.Count, $"page shows: {string.Join(" | ", lines)}");

        var artifacts = Directory.CreateDirectory(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "screenshots")).FullName;
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "browser-client-ocr.png"), FullPage = true });
    }
}
