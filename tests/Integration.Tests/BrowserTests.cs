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
        // The page takes the key from a link ending in #key=… (as the AppHost prints it) and remembers it.
        await page.GotoAsync($"{system.Gateway()}#key={SystemFixture.ApiKey}");
        await page.WaitForSelectorAsync("#connection[data-state=connected]");
        await page.SelectOptionAsync("#model", "ocr");

        await page.SetInputFilesAsync("#file", Path.Combine(Fixtures.OcrDirectory, "page-2.png"));
        await page.WaitForSelectorAsync("#status[data-state=succeeded]", new PageWaitForSelectorOptions { Timeout = 60_000 });

        var lines = await page.Locator("[data-testid=lines] li .text").AllTextContentsAsync();
        var expected = Fixtures.PageLines("page-2.png");
        Assert.Equal(expected.Count, lines.Count);
        // Text accuracy is measured in Engine.Tests; here: the page shows every line, in order, close to the truth.
        var shown = string.Join("\n", lines.Select(l => l.Trim()));
        var truth = string.Join("\n", expected);
        var cer = (double)Levenshtein(shown, truth) / truth.Length;
        Assert.True(cer <= 0.10, $"character error rate {cer:P1}; page shows: {shown.Replace("\n", " | ")}");

        var artifacts = Directory.CreateDirectory(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "screenshots")).FullName;
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(artifacts, "browser-client-ocr.png"), FullPage = true });
    }

    private static int Levenshtein(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
