using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using StackExchange.Redis;

namespace AppHost.Tests;

[Collection(SystemFixture.Disruptive)]
public sealed class ResourceGraphTests(SystemFixture fixture)
{
    private readonly TestSupport.AspireSystem _system = fixture.Aspire;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_replica_of_the_graph_is_running_as_a_real_process()
    {
        foreach (var (resource, replicas) in new[] { ("cache", 1), ("messaging-epmd", 1), ("messaging", 1), ("postgres", 1), ("modelsync", 1), ("worker", 2), ("gateway", 1) })
        {
            Assert.Equal(replicas, _system.Replicas(resource).Count);
            Assert.All(_system.Replicas(resource), r =>
            {
                Assert.True(r.IsRunning, $"{r.Id} is {r.State}");
                Assert.True(r.Pid is > 0 && ChildProcesses.IsAlive(r.Pid.Value), $"{r.Id} pid {r.Pid} is not alive");
            });
        }
        foreach (var project in new[] { "ModelSync", "Worker", "Gateway" })
        {
            Assert.All(_system.Replicas(project.ToLowerInvariant()), r =>
                Assert.Contains($"/{project}/bin/", ChildProcesses.CommandLine(r.ServicePid!.Value), StringComparison.Ordinal));
        }
        Assert.Contains("redis-server", ChildProcesses.CommandLine(_system.Replica("cache").Pid!.Value));
        Assert.Contains("beam.smp", ChildProcesses.CommandLine(_system.Replica("messaging").Pid!.Value));
        Assert.Contains("epmd", ChildProcesses.CommandLine(_system.Replica("messaging-epmd").Pid!.Value));
        Assert.Contains("/usr/lib/postgresql/15/bin/postgres", ChildProcesses.CommandLine(_system.Replica("postgres").Pid!.Value));
        Assert.StartsWith("127.0.0.1:", await _system.GetConnectionStringAsync("cache"));
        Assert.StartsWith("amqp://guest:guest@127.0.0.1:", await _system.GetConnectionStringAsync("messaging"));
        Assert.Matches("^Host=127.0.0.1;Port=[0-9]+;Username=postgres;Password=[0-9a-f]{32};Database=accounts$", await _system.GetConnectionStringAsync("accounts"));
        // Each worker replica listens on a port of its own behind Aspire's proxy.
        Assert.NotEqual(_system.GetEndpoint("worker", 0), _system.GetEndpoint("worker", 1));
    }

    [Fact]
    public async Task Gateway_health_shows_it_reached_the_injected_redis_and_rabbitmq()
    {
        using var http = new HttpClient { BaseAddress = _system.GetProxyEndpoint("gateway") };
        using var response = await http.GetAsync("/health", Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var checks = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("checks");
        // The checks Aspire.StackExchange.Redis and Aspire.RabbitMQ.Client register: a PING and an opened channel.
        Assert.Equal("Healthy", checks.GetProperty("StackExchange.Redis").GetProperty("status").GetString());
        Assert.Equal("Healthy", checks.GetProperty("RabbitMQ.Client").GetProperty("status").GetString());

        using var alive = await http.GetAsync("/alive", Ct);
        Assert.Equal(System.Net.HttpStatusCode.OK, alive.StatusCode);
    }

    [Fact]
    public async Task Each_worker_replica_writes_its_heartbeat_under_its_replica_name()
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(await _system.GetConnectionStringAsync("cache"));
        var db = redis.GetDatabase();
        foreach (var replica in _system.Replicas("worker"))
        {
            // The replica's name on Aspire's dashboard (worker-xxxxxxxx) is its instance id everywhere.
            await Eventually(async () => (int?)await db.HashGetAsync($"worker:{replica.Id}", "pid") == _system.Current(replica.Id).ServicePid,
                $"heartbeat of {replica.Id} with pid {replica.Pid}");
        }
    }

    [Fact]
    public void Projects_start_only_after_the_servers_they_wait_for_are_healthy()
    {
        var events = _system.Events.ToList();
        int FirstHealthy(string resource) => events.FindIndex(e => e.Resource == resource && e.Health == "Healthy");
        var serversReady = Math.Max(FirstHealthy("cache"), FirstHealthy("messaging"));
        // The gateway also waits for the accounts database, which is ready only once its server is.
        Assert.True(FirstHealthy("postgres") >= 0, "PostgreSQL never reported healthy");
        var gatewayStarted = events.FindIndex(e => e.Resource == "gateway" && e.Pid is > 0);
        Assert.True(gatewayStarted > FirstHealthy("postgres"), $"the gateway got a process (event {gatewayStarted}) before PostgreSQL was healthy");
        Assert.True(serversReady >= 0, "the servers never reported healthy");
        Assert.True(FirstHealthy("messaging-epmd") < FirstHealthy("messaging"), "RabbitMQ was healthy before its epmd");
        foreach (var replica in new[] { "modelsync", "worker", "gateway" }.SelectMany(_system.Replicas))
        {
            var started = events.FindIndex(e => e.Id == replica.Id && e.Pid is > 0);
            Assert.True(started > serversReady, $"{replica.Id} got a process (event {started}) before the servers were healthy (event {serversReady})");
            Assert.Contains(events.Take(started), e => e.Id == replica.Id && e.State == "Waiting");
        }
    }

    [Fact]
    public async Task A_killed_worker_replica_is_restarted_by_the_restart_policy_and_the_other_is_left_alone()
    {
        var victim = _system.Replica("worker", 1);
        var service = victim.ServicePid!.Value;
        var other = _system.Replica("worker", 0);
        var restartsBefore = _system.Restarts(victim.Id);
        ChildProcesses.Signal(service, ChildProcesses.SigKill);

        await _system.WaitUntilAsync(s => s.Current(victim.Id) is { IsRunning: true } r && r.Pid != victim.Pid && s.Restarts(victim.Id) == restartsBefore + 1,
            TimeSpan.FromSeconds(60), Ct);

        var after = _system.Current(victim.Id);
        Assert.Contains(_system.Events, e => e.Id == victim.Id && e.State == "Finished" && e.Pid == victim.Pid);
        Assert.True(ChildProcesses.IsAlive(after.ServicePid!.Value));
        Assert.NotEqual(service, after.ServicePid);
        Assert.False(ChildProcesses.IsAlive(service));
        await Eventually(() => Task.FromResult(_system.ConsoleLog(victim.Id).Any(l => l.Contains("restarting it (restart", StringComparison.Ordinal))),
            "the restart policy's line in the replica's console log");
        Assert.Equal(other.Pid, _system.Current(other.Id).Pid);
        await _system.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
    }

    [Fact]
    public async Task Stopping_a_replica_with_the_stop_command_leaves_it_stopped_until_started_again()
    {
        var replica = _system.Replica("worker", 0);
        var service = replica.ServicePid!.Value;
        await _system.StopReplicaAsync("worker", 0);
        await _system.WaitUntilAsync(s => s.Current(replica.Id).State is "Finished" or "Exited", TimeSpan.FromSeconds(30), Ct);
        try
        {
            // Longer than the restart policy's delay: a deliberate stop is not a crash.
            await Task.Delay(TimeSpan.FromSeconds(4), Ct);
            Assert.False(_system.Current(replica.Id).IsRunning, "the restart policy started a replica that was stopped on purpose");
            Assert.False(ChildProcesses.IsAlive(service), $"the service (pid {service}) outlived the stop command");
        }
        finally
        {
            await _system.StartReplicaAsync("worker", 0);
        }
        await _system.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        Assert.NotEqual(replica.Pid, _system.Current(replica.Id).Pid);
    }

    [Fact]
    public async Task Console_output_of_each_replica_is_kept_separately()
    {
        await Eventually(() => Task.FromResult(_system.ConsoleLog(_system.Replica("cache").Id).Any(l => l.Contains("Ready to accept connections", StringComparison.Ordinal))),
            "redis readiness line in the cache log");
        await Eventually(() => Task.FromResult(_system.ConsoleLog(_system.Replica("gateway").Id).Any(l => l.Contains("Now listening on", StringComparison.Ordinal))),
            "Kestrel's line in the gateway log");
        Assert.DoesNotContain(_system.ConsoleLog(_system.Replica("gateway").Id), l => l.Contains("Ready to accept connections", StringComparison.Ordinal));
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
