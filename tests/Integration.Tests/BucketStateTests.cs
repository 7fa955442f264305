using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contracts.Jobs;
using StackExchange.Redis;

namespace Integration.Tests;

/// <summary>
/// Model state that disagrees with the bucket: a version deleted from it while served under load, and a restart with the
/// state a run against another bucket left in Redis (a desired and pinned version this bucket lacks, a model it lacks).
/// </summary>
public sealed class BucketStateTests(SystemFixture system) : IDisposable
{
    private const string Model = SystemFixture.VersionedModel;
    private readonly HttpClient _admin = ModelAdmin.CreateClient(system);
    private readonly HttpClient _gateway = new GatewayHttpClient { BaseAddress = system.Gateway(), Timeout = TimeSpan.FromSeconds(100) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _admin.Dispose();
        _gateway.Dispose();
    }

    [Fact]
    public async Task Version_deleted_from_the_bucket_under_load_leaves_every_worker_on_the_previous_one_and_no_job_fails()
    {
        // Published at versions 1 and 2 by the fixture: every worker serves 2 from the start.
        await WaitForAsync(m => EveryWorkerServes(m, 2), TimeSpan.FromSeconds(60));

        var image = Fixtures.Bytes("line-001.png");
        var jobs = new ConcurrentBag<string>();
        var rejected = new ConcurrentBag<HttpStatusCode>();
        using var stopLoad = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                using var response = await _gateway.PostAsync($"/v1/models/{Model}/jobs", Http.Body(image), CancellationToken.None);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    jobs.Add((await response.ReadJobAsync()).Id);
                }
                else
                {
                    rejected.Add(response.StatusCode);
                }
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        var clock = Stopwatch.StartNew();
        Directory.Delete(Path.Combine(system.Bucket, Model, "2"), recursive: true);
        var removed = await WaitForAsync(m => m.Versions[2].State == "removed" && m.Desired != 2, TimeSpan.FromSeconds(30));
        var removedSeconds = clock.Elapsed.TotalSeconds;
        var rolledBack = await WaitForAsync(m => EveryWorkerServes(m, 1) && m.Rollout is { State: "succeeded", To: 1 }, TimeSpan.FromSeconds(90));
        var rolledBackSeconds = clock.Elapsed.TotalSeconds;
        await stopLoad.CancelAsync();
        await load;

        Assert.Equal(1, removed.Desired);
        Assert.NotNull(removed.Versions[2].RemovedAt);
        Assert.StartsWith("no longer published in ", removed.Versions[2].Reason, StringComparison.Ordinal);
        Assert.Equal("valid", rolledBack.Versions[1].State);
        Assert.Equal(2, rolledBack.Rollout?.From);
        Assert.Equal("version 2 was removed from the bucket", rolledBack.Rollout?.Message);

        var listed = await WaitForListedAsync(m => m.Versions.SequenceEqual([1]) && m.ServingVersions.SequenceEqual([1]));
        Assert.Equal([1], listed.Versions);
        Assert.Equal([1], listed.ServingVersions);
        Assert.True(listed.Ready);

        var records = await Task.WhenAll(jobs.Select(id => Http.WaitTerminalAsync(_gateway, id, seconds: 90)));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{records.Length} jobs; version 2 marked removed {removedSeconds:0.0} s after its folder was deleted, every worker on 1 after " +
            $"{rolledBackSeconds:0.0} s; by version: {string.Join(", ", records.GroupBy(r => r.Version).Select(g => $"v{g.Key}={g.Count()}"))}");
        Assert.Empty(rejected);
        Assert.All(records, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        var ordered = records.OrderBy(r => r.FinishedAt).Select(r => r.Version).ToList();
        Assert.Contains(2, ordered);
        Assert.Equal(1, ordered[^1]);
    }

    [Fact]
    public async Task Restart_with_the_state_of_another_bucket_serves_this_buckets_newest_version_and_refuses_a_model_no_worker_serves()
    {
        // This bucket's newest version of the model (2, or 1 once the deletion test ran), served by every worker.
        var newest = Directory.EnumerateDirectories(Path.Combine(system.Bucket, Model)).Select(d => int.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture)).Max();
        await WaitForAsync(m => EveryWorkerServes(m, newest), TimeSpan.FromSeconds(60));
        const string elsewhere = "cls-elsewhere";

        // ModelSync down, and in Redis what a run against another bucket left: the model desired and pinned at version 9,
        // and a model this bucket does not hold at all.
        await system.Aspire.StopReplicaAsync("modelsync", 0);
        using (var redis = await ConnectionMultiplexer.ConnectAsync(system.CacheConnection))
        {
            var db = redis.GetDatabase();
            var manifest = File.ReadAllText(Path.Combine(system.Bucket, Model, "1", "model.json"));
            await WriteVerdictAsync(db, Model, 9, manifest);
            await db.StringSetAsync($"model:{Model}:desired", "9");
            await db.StringSetAsync($"model:{Model}:pinned", "9");
            var other = JsonNode.Parse(manifest)!.AsObject();
            other["name"] = elsewhere;
            await WriteVerdictAsync(db, elsewhere, 1, other.ToJsonString());
            await db.StringSetAsync($"model:{elsewhere}:desired", "1");
        }

        // A worker restarted meanwhile is told version 9, which it cannot fetch.
        var restart = RestartWorkerAsync(0);

        // The gateway lists the other bucket's model, which no worker serves: not ready, and why.
        var listed = await WaitForListedAsync(m => true, elsewhere);
        Assert.False(listed.Ready);
        Assert.Contains("serves it (version 1 is desired)", listed.Reason, StringComparison.Ordinal);
        using (var ready = await _gateway.GetAsync($"/v2/models/{elsewhere}/ready", Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, ready.StatusCode); // OIP: a 4xx means not ready
            Assert.Contains($"model '{elsewhere}' is not ready: ", (await ready.ReadJsonAsync()).GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        // Within the grace period its jobs still queue; after it they are refused at once.
        var queued = new List<string>();
        HttpResponseMessage refused;
        var deadline = DateTime.UtcNow + SystemFixture.ModelUnavailableGrace + TimeSpan.FromSeconds(20);
        while (true)
        {
            var response = await _gateway.PostAsync($"/v1/models/{elsewhere}/jobs?timeout=2", Http.Body(Fixtures.Bytes("line-001.png")), Ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                refused = response;
                break;
            }
            queued.Add((await response.ReadJobAsync()).Id);
            response.Dispose();
            Assert.True(DateTime.UtcNow < deadline, $"jobs for {elsewhere} were still accepted {SystemFixture.ModelUnavailableGrace.TotalSeconds + 20:0} s after it was listed");
            await Task.Delay(500, Ct);
        }
        using (refused)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = await refused.ReadJsonAsync();
            Assert.Equal("model_unavailable", problem.GetProperty("code").GetString());
            Assert.Contains($"No live worker has served '{elsewhere}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        }
        Assert.NotEmpty(queued);

        await restart;
        await system.Aspire.StartReplicaAsync("modelsync", 0);
        await system.Aspire.WaitForHealthyAsync("modelsync", TimeSpan.FromSeconds(90), Ct);

        // ModelSync's first pass converges to this bucket: version 9 removed, the pin lifted (recorded), this bucket's
        // newest version desired and served by every worker; the restarted one says why it served another than it was told.
        using var admin = ModelAdmin.CreateClient(system); // the restarted replica's own port
        var model = await ModelAdmin.WaitForAsync(admin, m => m.Versions.TryGetValue(9, out var v) && v.State == "removed" && EveryWorkerServes(m, newest),
            Model, TimeSpan.FromSeconds(30));
        Assert.Null(model.Pinned);
        var unpinned = Assert.Single(model.History, r => r.State == "unpinned");
        Assert.Equal((9, newest), (unpinned.From, unpinned.To));
        Assert.Equal($"pinned version 9 was removed from the bucket: unpinned, desired falls back to version {newest}", unpinned.Message);
        Assert.Equal($"told to serve version 9: version 9 is not published in the bucket; serving version {newest}",
            Assert.Single(model.Fallbacks!).Value);
        var gone = await ModelAdmin.WaitForAsync(admin, m => m.Versions[1].State == "removed", elsewhere, TimeSpan.FromSeconds(10));
        Assert.Null(gone.Desired);

        // The gateway follows: this bucket's versions, the other bucket's model withdrawn.
        var current = await WaitForListedAsync(m => m.Versions.Max() == newest);
        Assert.True(current.Ready);
        for (var until = DateTime.UtcNow.AddSeconds(10); (await ListAsync()).Any(m => m.Name == elsewhere) && DateTime.UtcNow < until;)
        {
            await Task.Delay(250, Ct);
        }
        using (var unknown = await _gateway.PostAsync($"/v1/models/{elsewhere}/jobs", Http.Body(Fixtures.Bytes("line-001.png")), Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("model_not_found", (await unknown.ReadJsonAsync()).GetProperty("code").GetString());
        }

        // The jobs queued within the grace period waited until their deadline, as any job that no worker takes.
        foreach (var id in queued)
        {
            var record = await Http.WaitTerminalAsync(_gateway, id, seconds: 30);
            Assert.Equal(JobStatus.Expired, record.Status);
            Assert.Equal(JobErrorCodes.DeadlineExceeded, record.Error?.Code);
        }
    }

    /// <summary>Both of the fixture's workers are live and serve <paramref name="version"/>, the desired one.</summary>
    private static bool EveryWorkerServes(AdminModel model, int version) => ModelAdmin.AllServe(model, version) && model.Serving.Count == 2;

    private async Task RestartWorkerAsync(int index)
    {
        await system.Aspire.RestartReplicaAsync("worker", index);
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
    }

    /// <summary>A verdict as ModelSync writes it (valid, with the manifest gateways read), for a model and version.</summary>
    private static async Task WriteVerdictAsync(IDatabase db, string model, int version, string manifest)
    {
        var verdict = JsonSerializer.Serialize(new { state = "valid", reason = (string?)null, checkedAt = DateTimeOffset.UtcNow.AddDays(-1) });
        await db.HashSetAsync($"model:{model}:manifests", version.ToString(CultureInfo.InvariantCulture), manifest);
        await db.HashSetAsync($"model:{model}:versions", version.ToString(CultureInfo.InvariantCulture), verdict);
        await db.SetAddAsync("models", model);
    }

    private Task<AdminModel> WaitForAsync(Func<AdminModel, bool> condition, TimeSpan timeout) =>
        ModelAdmin.WaitForAsync(_admin, condition, Model, timeout);

    private async Task<ListedModel[]> ListAsync() =>
        (await _gateway.GetFromJsonAsync<ListedModel[]>("/v1/models", Http.Json, Ct))!;

    /// <summary>Polls the gateway's <c>GET /v1/models</c> (re-read from Redis every 2 s) until the model is listed as expected.</summary>
    private async Task<ListedModel> WaitForListedAsync(Func<ListedModel, bool> condition, string name = Model)
    {
        ListedModel? last = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline; await Task.Delay(250, Ct))
        {
            last = (await ListAsync()).FirstOrDefault(m => m.Name == name);
            if (last is not null && condition(last))
            {
                return last;
            }
        }
        Assert.Fail($"GET /v1/models did not list {name} as expected; last: {JsonSerializer.Serialize(last, Http.Json)}");
        return null!;
    }

    private sealed record ListedModel(string Name, int[] Versions, int[] ServingVersions, bool Ready, string? Reason);
}
