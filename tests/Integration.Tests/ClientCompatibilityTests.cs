using System.Diagnostics;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>The hub speaks standard SignalR: the stock JavaScript client, run by Node, works against it.</summary>
public sealed class ClientCompatibilityTests(SystemFixture system)
{
    [Fact]
    public async Task Stock_javascript_signalr_client_submits_and_receives_the_pushed_result()
    {
        var script = Path.Combine(Projects.RepositoryInfo.Root, "tests", "Integration.Tests", "js", "signalr-compat.js");
        var info = new ProcessStartInfo("node", [script, system.Gateway(1).ToString().TrimEnd('/'), "ocr-rec", Path.Combine(Fixtures.OcrDirectory, "line-011.png")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["NODE_DEPS"] = Path.Combine(Projects.RepositoryInfo.Root, ".deps", "node"), ["API_KEY"] = SystemFixture.ApiKey },
        };
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = node.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await node.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(90), TestContext.Current.CancellationToken);

        Assert.True(node.ExitCode == 0, $"node exited {node.ExitCode}: {await stderr}");
        var events = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var id = events.Single(e => e.GetProperty("event").GetString() == "Submitted").GetProperty("id").GetString();
        var updates = events.Where(e => e.GetProperty("event").GetString() == "JobUpdated").Select(e => e.GetProperty("update")).ToList();
        Assert.All(updates, u => Assert.Equal(id, u.GetProperty("id").GetString()));
        var final = updates[^1];
        Assert.Equal("succeeded", final.GetProperty("status").GetString());
        Assert.Equal(Fixtures.LineText("line-011.png"), final.GetProperty("output").GetProperty("text").GetString());
        var error = events.Single(e => e.GetProperty("event").GetString() == "Error").GetProperty("message").GetString();
        Assert.Contains("model_not_found", error);
    }
}
