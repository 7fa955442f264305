using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>
/// ModelSync against the real system: versions published into the fixture's bucket under new model names (the shared
/// models stay untouched) are validated, rolled out worker by worker under load, and rolled back.
/// </summary>
public sealed class ModelSyncTests(SystemFixture system) : IDisposable
{
    private readonly HttpClient _admin = CreateAdmin(system);
    private readonly HttpClient _gateway = new GatewayHttpClient { BaseAddress = system.Gateway(), Timeout = TimeSpan.FromSeconds(100) };

    public void Dispose()
    {
        _admin.Dispose();
        _gateway.Dispose();
    }

    [Fact]
    public async Task Admin_api_refuses_a_missing_or_wrong_key()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Aspire.GetEndpoint("modelsync") };
        using var missing = await anonymous.GetAsync("/admin/models", TestContext.Current.CancellationToken);
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/admin/models") { Headers = { { "X-Admin-Key", "not-the-key" } } };
        using var wrongResponse = await anonymous.SendAsync(wrong, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
    }

    [Fact]
    public async Task Corrupt_version_is_invalid_and_incomplete_version_is_ignored()
    {
        PublishClassifier("cls-broken", 1, onnx: "not an onnx model"u8.ToArray());
        // Manifest lists model.onnx, which was never copied: not published yet.
        var incomplete = PublishClassifier("cls-broken", 2);
        File.Delete(Path.Combine(incomplete, "model.onnx"));

        var model = await WaitForAsync(m => m.Versions.ContainsKey(1), "cls-broken", TimeSpan.FromSeconds(30));

        Assert.Equal("invalid", model.Versions[1].State);
        Assert.StartsWith("cannot be loaded:", model.Versions[1].Reason, StringComparison.Ordinal);
        Assert.False(model.Versions.ContainsKey(2));
        Assert.Null(model.Desired);
        Assert.All(model.Serving.Values, v => Assert.Null(v));
    }

    [Fact]
    public async Task Published_version_reaches_every_worker_under_load_and_rollback_returns()
    {
        const string name = "cls-rollout";
        PublishClassifier(name, 1);
        // A new model name is served once every worker restarted: that is a rollout too.
        await WaitForAsync(m => AllServe(m, 1), name, TimeSpan.FromSeconds(120));

        var image = Fixtures.Bytes("line-001.png");
        var jobs = new ConcurrentBag<string>();
        var rejected = 0;
        using var stopLoad = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            // ~10 jobs/s, a steady trickle rather than a flood: the point is that none is lost during restarts.
            while (!stopLoad.IsCancellationRequested)
            {
                using var response = await _gateway.PostAsync($"/v1/models/{name}/jobs", Http.Body(image), CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    jobs.Add((await response.ReadJobAsync()).Id);
                }
                else
                {
                    Interlocked.Increment(ref rejected);
                }

                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        var clock = Stopwatch.StartNew();
        PublishClassifier(name, 2);
        var rolledOut = await WaitForAsync(m => RolledOut(m, 2), name, TimeSpan.FromSeconds(60));
        var rolloutSeconds = clock.Elapsed.TotalSeconds;
        Assert.Equal(1, rolledOut.Rollout?.From);
        // ModelSync:MaxUnavailable defaults to 1: one worker per step (a worker that restarted meanwhile needs none).
        Assert.All(rolledOut.Rollout!.Steps!, step => Assert.Single(step));

        PublishClassifier(name, 3, onnx: "corrupt bytes, not a model"u8.ToArray());
        var withBad = await WaitForAsync(m => m.Versions.ContainsKey(3), name, TimeSpan.FromSeconds(30));
        Assert.Equal("invalid", withBad.Versions[3].State);
        Assert.Equal(2, withBad.Desired);

        clock.Restart();
        using (var rollback = await _admin.PostAsync($"/admin/models/{name}/rollback", null, TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        }

        var rolledBack = await WaitForAsync(m => RolledOut(m, 1), name, TimeSpan.FromSeconds(60));
        var rollbackSeconds = clock.Elapsed.TotalSeconds;
        Assert.Equal(1, rolledBack.Pinned);
        Assert.DoesNotContain(3, rolledBack.Serving.Values);

        await stopLoad.CancelAsync();
        await load;
        var records = await Task.WhenAll(jobs.Select(id => Http.WaitTerminalAsync(_gateway, id, seconds: 90)));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{records.Length} jobs; rollout to v2 {rolloutSeconds:0.0} s; rollback to v1 {rollbackSeconds:0.0} s; " +
            $"by version: {string.Join(", ", records.GroupBy(r => r.Version).Select(g => $"v{g.Key}={g.Count()}"))}");

        Assert.Equal(0, rejected);
        Assert.All(records, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        var ordered = records.OrderBy(r => r.FinishedAt).Select(r => r.Version).ToList();
        Assert.Contains(1, ordered);
        Assert.Contains(2, ordered);
        Assert.Equal(1, ordered[^1]);
        Assert.DoesNotContain(3, ordered);
    }

    [Fact]
    public async Task Version_no_worker_can_load_is_rolled_back_as_soon_as_the_drained_worker_says_so()
    {
        // Published at version 1 by the fixture: every worker serves it from its start.
        const string name = SystemFixture.UnloadableNextModel;
        await WaitForAsync(m => AllServe(m, 1), name, TimeSpan.FromSeconds(60));
        await PostAsync($"/admin/models/{name}/pin/1");

        // v2 passes ModelSync's checks, then its weights are damaged in the bucket (same size): workers cannot load it.
        var v2 = PublishClassifier(name, 2);
        await WaitForAsync(m => m.Versions.ContainsKey(2), name, TimeSpan.FromSeconds(30));
        var onnx = Path.Combine(v2, "model.onnx");
        File.WriteAllBytes(onnx, new byte[new FileInfo(onnx).Length]);
        await PostAsync($"/admin/models/{name}/pin/2");

        // A replica back from a restart serving version 1 says why: ModelSync rolls back then, not after its
        // ModelSync__RolloutTimeout (SystemFixture.RolloutTimeout here, 60 s by default), and the reason is the worker's.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var failed = await WaitForAsync(m => m.History.Any(r => r is { State: "rolled-back", To: 2 }), name, TimeSpan.FromSeconds(100));
        TestContext.Current.TestOutputHelper?.WriteLine($"rolled back {clock.Elapsed.TotalSeconds:0.0} s after the pin to 2");
        Assert.Equal(1, failed.Pinned);
        var attempt = failed.History.First(r => r.To == 2);
        Assert.Single(Assert.Single(attempt.Steps!));
        // Named by the first replica back that read version 2 as desired: the drained one, or another restarted meanwhile
        // (say by an earlier test's rollout), which could not fetch it either.
        var reason = System.Text.RegularExpressions.Regex.Match(attempt.Message ?? "",
            "^worker (\\S+) came back without version 2: told to serve version 2: version 2 cannot be fetched:");
        Assert.True(reason.Success, attempt.Message);
        var refusing = reason.Groups[1].Value;
        Assert.True(attempt.Finished - attempt.Started < SystemFixture.RolloutTimeout,
            $"rolled back {(attempt.Finished - attempt.Started)?.TotalSeconds:0.0} s after the rollout began: that is the timeout, not the worker's report");

        // That worker came back serving version 1 rather than nothing, and still says why; so does any other replica that
        // read version 2 as desired.
        var restored = await WaitForAsync(m => AllServe(m, 1), name, TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(2, restored.Serving.Values);
        Assert.Contains(refusing, restored.Fallbacks!.Keys);
        Assert.All(restored.Fallbacks!.Values, fallback =>
        {
            Assert.StartsWith("told to serve version 2: version 2 cannot be fetched:", fallback, StringComparison.Ordinal);
            Assert.EndsWith("; serving version 1", fallback, StringComparison.Ordinal);
        });
    }

    private async Task PostAsync(string path)
    {
        using var response = await _admin.PostAsync(path, null, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static bool AllServe(AdminModel model, int version) => ModelAdmin.AllServe(model, version);

    private static bool RolledOut(AdminModel model, int version) => ModelAdmin.RolledOut(model, version);

    private Task<AdminModel> WaitForAsync(Func<AdminModel, bool> condition, string name, TimeSpan timeout) =>
        ModelAdmin.WaitForAsync(_admin, condition, name, timeout);

    private string PublishClassifier(string name, int version, byte[]? onnx = null) => TestBucket.PublishClassifier(system.Bucket, name, version, onnx);

    private static HttpClient CreateAdmin(SystemFixture system) => ModelAdmin.CreateClient(system);
}

