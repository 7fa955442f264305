using System.Net.Http.Json;
using System.Text.Json;
using AppHost.Hosting;
using StackExchange.Redis;

namespace AppHost.Tests;

[Collection(SystemFixture.Disruptive)]
public sealed class ResourceGraphTests(SystemFixture fixture)
{
    private readonly DistributedApplication _app = fixture.App;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Every_replica_is_running_with_a_pid_and_endpoint()
    {
        var names = _app.Model.Snapshots.Select(s => s.Name).ToList();
        Assert.Equal(["cache", "messaging", "modelsync", "worker-0", "worker-1", "gateway"], names);
        Assert.All(_app.Model.Snapshots, s =>
        {
            Assert.Equal(ResourceState.Running, s.State);
            Assert.NotNull(s.Pid);
            Assert.True(ChildProcesses.IsAlive(s.Pid!.Value), $"{s.Name} pid {s.Pid} is not alive");
            Assert.Single(s.Endpoints);
        });
        Assert.StartsWith("127.0.0.1:", _app.GetConnectionString("cache"));
        Assert.StartsWith("amqp://guest:guest@127.0.0.1:", _app.GetConnectionString("messaging"));
    }

    [Fact]
    public async Task Gateway_health_shows_it_reached_the_injected_redis_and_rabbitmq()
    {
        using var http = _app.CreateHttpClient("gateway");
        using var response = await http.GetAsync("/health", Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var checks = body.GetProperty("checks");
        Assert.Equal("Healthy", checks.GetProperty("cache").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("messaging").GetProperty("status").GetString());
        var messagingPort = new Uri(_app.GetConnectionString("messaging")!).Port;
        Assert.Contains($":{messagingPort}", checks.GetProperty("messaging").GetProperty("description").GetString());

        using var alive = await http.GetAsync("/alive", Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task Each_worker_replica_writes_its_heartbeat_to_the_injected_redis_under_its_instance_id()
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(_app.GetConnectionString("cache")!);
        var db = redis.GetDatabase();
        foreach (var replica in new[] { "worker-0", "worker-1" })
        {
            var pid = _app.Model.Get(replica)!.Pid;
            await Eventually(async () => (int?)await db.HashGetAsync($"worker:{replica}", "pid") == _app.Model.Get(replica)!.Pid,
                $"heartbeat of {replica} with pid {pid}");
        }
    }

    [Fact]
    public void Projects_start_only_after_the_servers_they_wait_for_are_running()
    {
        var events = _app.Model.Events;
        DateTimeOffset FirstRunning(string name) => events.First(e => e.Name == name && e.State == ResourceState.Running).At;
        var serversReady = new[] { FirstRunning("cache"), FirstRunning("messaging") }.Max();
        foreach (var project in new[] { "modelsync", "worker-0", "worker-1", "gateway" })
        {
            var firstStart = events.First(e => e.Name == project && e.State == ResourceState.Starting).At;
            Assert.True(firstStart >= serversReady, $"{project} started at {firstStart:O}, before the servers were ready at {serversReady:O}");
            Assert.Contains(events, e => e.Name == project && e.State == ResourceState.Waiting && e.At <= firstStart);
        }
    }

    [Fact]
    public async Task A_killed_worker_replica_is_restarted_and_its_restart_counted()
    {
        var before = _app.Model.Get("worker-1")!;
        var killedAt = DateTimeOffset.UtcNow;
        ChildProcesses.Signal(before.Pid!.Value, ChildProcesses.SigKill);

        await _app.Model.WaitUntilAsync(
            m => m.Get("worker-1") is { State: ResourceState.Running } s && s.Pid != before.Pid && s.Restarts == before.Restarts + 1,
            TimeSpan.FromSeconds(60), Ct);

        var after = _app.Model.Get("worker-1")!;
        Assert.Contains(_app.Model.Events, e => e.Name == "worker-1" && e.State == ResourceState.Exited && e.At >= killedAt);
        Assert.True(ChildProcesses.IsAlive(after.Pid!.Value));
        Assert.Contains(_app.GetConsoleLog("worker-1").Lines, l => l.Text.Contains("exited with code 137"));
        // The other replica was left alone.
        Assert.Equal(0, _app.Model.Get("worker-0")!.Restarts);
    }

    [Fact]
    public async Task Console_output_of_each_replica_is_kept_separately()
    {
        await Eventually(() => Task.FromResult(_app.GetConsoleLog("cache").Lines.Any(l => l.Text.Contains("Ready to accept connections"))),
            "redis readiness line in the cache log");
        Assert.DoesNotContain(_app.GetConsoleLog("gateway").Lines, l => l.Text.Contains("Ready to accept connections"));
        Assert.All(_app.GetConsoleLog("gateway").Lines, l => Assert.Equal("gateway", l.Replica));
    }

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}");
            }
            await Task.Delay(200, Ct);
        }
    }
}
