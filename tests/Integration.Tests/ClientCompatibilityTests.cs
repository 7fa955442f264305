using System.Diagnostics;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>The hub speaks standard SignalR: the stock JavaScript client, run by Node, works against it.</summary>
public sealed class ClientCompatibilityTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stock_javascript_signalr_client_submits_and_receives_the_pushed_result()
    {
        var events = await RunNodeAsync("signalr-compat.js",
            [system.Gateway(1).ToString().TrimEnd('/'), "ocr-rec", Path.Combine(Fixtures.OcrDirectory, "line-011.png")]);

        var id = events.Single(e => e.GetProperty("event").GetString() == "Submitted").GetProperty("id").GetString();
        var updates = events.Where(e => e.GetProperty("event").GetString() == "JobUpdated").Select(e => e.GetProperty("update")).ToList();
        Assert.All(updates, u => Assert.Equal(id, u.GetProperty("id").GetString()));
        var final = updates[^1];
        Assert.Equal("succeeded", final.GetProperty("status").GetString());
        Assert.Equal(Fixtures.LineText("line-011.png"), final.GetProperty("output").GetProperty("text").GetString());
        var error = events.Single(e => e.GetProperty("event").GetString() == "Error").GetProperty("message").GetString();
        Assert.Contains("model_not_found", error);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("messagepack")]
    public async Task Five_hundred_jobs_from_twenty_stock_javascript_clients_over_two_gateways_each_reach_their_owner_exactly_once(string protocol)
    {
        var images = new[] { "line-001.png", "line-002.png", "upside-down-1.png", "upside-down-2.png" };
        // What each image should get back: its top label, computed once through the synchronous API.
        var reference = new Dictionary<string, string>();
        using (var http = new GatewayHttpClient { BaseAddress = system.Gateway() })
        {
            foreach (var image in images)
            {
                using var response = await http.PostAsync("/v1/models/ocr-cls/predict", Http.Body(Fixtures.Bytes(image)), Ct);
                reference[image] = TopLabel((await response.ReadJobAsync()).Output!.Value.GetProperty("labels"));
            }
        }
        var gateways = $"{system.Gateway(0).ToString().TrimEnd('/')},{system.Gateway(1).ToString().TrimEnd('/')}";
        // 20 connections alternating between the gateways, 5 rounds of 5 concurrent jobs each: 500 jobs.
        var events = await RunNodeAsync("signalr-many.js",
            [gateways, "ocr-cls", protocol, "20", "5", "5", .. images.Select(i => Path.Combine(Fixtures.OcrDirectory, i))]);

        var submitted = events.Where(e => e.GetProperty("event").GetString() == "Submitted")
            .ToDictionary(e => e.GetProperty("id").GetString()!, e => (Client: e.GetProperty("client").GetInt32(), Image: e.GetProperty("image").GetString()!));
        var pushes = events.Where(e => e.GetProperty("event").GetString() == "JobUpdated").ToList();
        Assert.Equal(500, submitted.Count);
        for (var c = 0; c < 20; c++)
        {
            var own = submitted.Where(s => s.Value.Client == c).ToDictionary(s => s.Key, s => s.Value.Image);
            Assert.Equal(25, own.Count);
            var received = pushes.Where(p => p.GetProperty("client").GetInt32() == c).ToList();
            // Exactly its own jobs were pushed to it…
            Assert.Equal(own.Keys.Order(), received.Select(p => p.GetProperty("id").GetString()!).Distinct().Order());
            foreach (var (id, image) in own)
            {
                var states = received.Where(p => p.GetProperty("id").GetString() == id).Select(p => p.GetProperty("status").GetString()).ToList();
                // …no state twice, each result exactly once, and the right one.
                Assert.Equal(states.Distinct().Count(), states.Count);
                var final = Assert.Single(received, p => p.GetProperty("id").GetString() == id && p.GetProperty("status").GetString() is not ("queued" or "running"));
                Assert.Equal("succeeded", final.GetProperty("status").GetString());
                Assert.Equal(reference[image], TopLabel(final.GetProperty("labels")));
            }
        }
    }

    private static string TopLabel(JsonElement labels) =>
        labels.EnumerateArray().OrderByDescending(l => l.GetProperty("score").GetDouble()).First().GetProperty("label").GetString()!;

    /// <summary>Runs one of the scripts in js/ with Node and the packages setup installed; its stdout's JSON lines.</summary>
    private static async Task<List<JsonElement>> RunNodeAsync(string script, IEnumerable<string> arguments)
    {
        var path = Path.Combine(Projects.RepositoryInfo.Root, "tests", "Integration.Tests", "js", script);
        var info = new ProcessStartInfo("node", [path, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["NODE_DEPS"] = Path.Combine(Projects.RepositoryInfo.Root, ".deps", "node"), ["API_KEY"] = SystemFixture.ApiKey },
        };
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync(Ct);
        var stderr = node.StandardError.ReadToEndAsync(Ct);
        await node.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(150), Ct);

        Assert.True(node.ExitCode == 0, $"node {script} exited {node.ExitCode}: {await stderr}");
        return [.. (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)];
    }
}
