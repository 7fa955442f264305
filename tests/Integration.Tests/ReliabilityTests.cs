using System.Net;
using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging.Abstractions;
using ServiceDefaults.Jobs;
using ServiceDefaults.Push;
using StackExchange.Redis;

namespace Integration.Tests;

/// <summary>Nothing acknowledged is lost or pushed twice while processes die and restart for real.</summary>
public sealed class ReliabilityTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Worker_killed_mid_batch_loses_no_job_and_pushes_none_twice()
    {
        // An earlier test may have had a worker replaced (the hang test): start from every worker serving.
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        var restartsBefore = system.Aspire.Restarts("worker", 0);
        var ledger = await BacklogThroughAsync(() =>
        {
            // Into the backlog: kill one worker without warning.
            var victim = system.Aspire.Replica("worker", 0);
            Assert.True(victim.IsRunning);
            System.Diagnostics.Process.GetProcessById(victim.ServicePid!.Value).Kill();
            return Task.CompletedTask;
        });
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        await AssertEverySucceededOnceAsync(ledger);
        // The AppHost's restart policy starts the killed worker again.
        await system.Aspire.WaitUntilAsync(m => m.Restarts("worker", 0) > restartsBefore, TimeSpan.FromSeconds(90), Ct);
    }

    /// <summary>What Kubernetes gives a worker pod between SIGTERM and SIGKILL (<c>deploy/k8s/base/worker.yaml</c>).</summary>
    private static readonly TimeSpan WorkerGracePeriod = TimeSpan.FromSeconds(35);

    [Fact]
    public async Task Worker_sent_SIGTERM_under_load_finishes_its_batch_and_exits_in_its_grace_period_losing_no_job()
    {
        // What Kubernetes does to a pod it scales down, evicts or replaces in a rollout: SIGTERM, then SIGKILL after the grace
        // period. The worker stops consuming, finishes the batches in hand and lets the broker requeue the jobs it holds.
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        var restartsBefore = system.Aspire.Restarts("worker", 1);
        var exitedAfter = TimeSpan.Zero;
        var ledger = await BacklogThroughAsync(async () =>
        {
            // Both workers deep in the backlog, batches in hand and jobs prefetched: SIGTERM to one.
            var victim = system.Aspire.Replica("worker", 1);
            Assert.True(victim.IsRunning);
            var pid = victim.ServicePid!.Value;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(Ct);
            }
            while (IsAlive(pid) && watch.Elapsed < WorkerGracePeriod + TimeSpan.FromSeconds(10))
            {
                await Task.Delay(100, Ct);
            }
            exitedAfter = watch.Elapsed;
            TestContext.Current.TestOutputHelper?.WriteLine($"SIGTERM → the worker exited after {exitedAfter.TotalSeconds:0.0} s");
        });

        Assert.True(exitedAfter < WorkerGracePeriod, $"the worker took {exitedAfter.TotalSeconds:0.0} s to exit after SIGTERM; Kubernetes kills it at {WorkerGracePeriod.TotalSeconds} s");
        await AssertEverySucceededOnceAsync(ledger);
        // Finished, not abandoned: the batches the worker had started ended there (a kill -9 would have them run again,
        // attempt 2); the jobs it held and had not started went back to the queue without an attempt counted.
        var rerun = ledger.Finals().Where(r => r.Attempts != 1).Select(r => $"{r.Id}: {r.Attempts} attempts").ToList();
        Assert.True(rerun.Count == 0, $"jobs run more than once: {string.Join(", ", rerun)}");
        // The AppHost starts it again (exited by itself: Kubernetes' restartPolicy Always, a Deployment's new pod).
        await system.Aspire.WaitUntilAsync(m => m.Restarts("worker", 1) > restartsBefore, TimeSpan.FromSeconds(90), Ct);
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
    }

    /// <summary>Whether a process still runs (a zombie its parent has not reaped yet has exited).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault() is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// 160 <c>ocr-rec</c> jobs from 4 clients over both gateways; 700 ms in, with the workers in the backlog, the
    /// <paramref name="fault"/>; then up to 120 s for every job to end, and 1 s more for a late duplicate. Returns what
    /// the clients received.
    /// </summary>
    private async Task<JobLedger> BacklogThroughAsync(Func<Task> fault)
    {
        var ledger = new JobLedger();
        var clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => InferenceClient.ConnectAsync(system.Gateway(i % 2))));
        try
        {
            var image = Fixtures.Bytes("line-020.png");
            foreach (var client in clients)
            {
                for (var i = 0; i < 40; i++)
                {
                    ledger.Acknowledged(await client.SubmitAsync("ocr-rec", image));
                }
            }
            await Task.Delay(700, Ct);
            await fault();
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (clients.Sum(c => c.Updates.Values.Count(u => u.Any(x => x.IsTerminal))) < ledger.Ids.Count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, Ct);
            }
            await Task.Delay(1000, Ct); // a late duplicate would show up here
            foreach (var client in clients)
            {
                ledger.Observe(client);
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
        return ledger;
    }

    /// <summary>All 160 acknowledged jobs succeeded, each pushed once; lost ones are named with their stored state.</summary>
    private async Task AssertEverySucceededOnceAsync(JobLedger ledger)
    {
        var report = ledger.Tally();
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.Equal(160, report.Acknowledged);
        Assert.True(report.Lost == 0, $"{report}; as stored: {await StoredStatesAsync(ledger.LostIds())}");
        Assert.Equal(0, report.Duplicated);
        Assert.Equal(160, report.Succeeded);
    }

    /// <summary>What Redis holds for jobs a run lost: the state (and attempts) each was stored in, or that it is gone.</summary>
    private async Task<string> StoredStatesAsync(IReadOnlyList<string> ids)
    {
        using var redis = await ConnectionMultiplexer.ConnectAsync(system.CacheConnection);
        var store = new JobStore(redis, new JobPush(new UnreachableHub(), NullLogger<JobPush>.Instance));
        var records = await store.GetManyAsync(ids);
        return string.Join("; ", ids.Select((id, i) => records[i] is { } r ? $"{id} {r.Status.ToWire()} after {r.Attempts} attempt(s)" : $"{id} gone"));
    }

    [Fact]
    public async Task Final_state_stored_by_a_process_that_died_before_pushing_it_still_reaches_its_follower()
    {
        // A worker killed after its batch's script stored the results and before its backplane publish went out leaves exactly
        // this: the final state stored (the followers taken, the usage counted), nothing pushed, and the redelivered job already
        // finished, so nothing runs it again. The job store used here cannot reach the backplane: its push fails as that
        // worker's never happened.
        await using var client = await InferenceClient.ConnectAsync(system.Gateway(1));
        using var redis = await ConnectionMultiplexer.ConnectAsync(system.CacheConnection);
        var dying = new JobStore(redis, new JobPush(new UnreachableHub(), NullLogger<JobPush>.Instance));
        // A job the workers finish and push as usual: its push is paid, so recovery must not send it again.
        var usual = await client.SubmitAsync("ocr-cls", Fixtures.Bytes("line-001.png"));
        Assert.Equal(JobStatus.Succeeded, (await client.FinalAsync(usual)).Status);
        string? id = null;
        for (var attempt = 0; attempt < 5 && id is null; attempt++)
        {
            var submitted = await client.SubmitAsync("ocr-rec", Fixtures.Bytes("line-020.png"));
            var record = await dying.GetAsync(submitted);
            Assert.NotNull(record);
            var stored = await dying.TransitionManyAsync([record with
            {
                Status = JobStatus.Failed,
                FinishedAt = DateTimeOffset.UtcNow,
                Error = new JobError("worker_lost", "stored by a worker that died before pushing it"),
            }]);
            // The real workers may finish the job first (then theirs is the state, pushed as usual): take another.
            id = stored[0] ? submitted : null;
        }
        Assert.NotNull(id);

        // Pushed by a gateway's push recovery once it has been owed past its grace (10 s), once.
        var final = await client.FinalAsync(id, TimeSpan.FromSeconds(60));
        Assert.Equal(JobStatus.Failed, final.Status);
        Assert.Equal("worker_lost", final.Error?.Code);
        await Task.Delay(2000, Ct); // a second push would show up here
        Assert.Single(client.Pushes[id], u => u.IsTerminal);
        Assert.Single(client.Pushes[usual], u => u.IsTerminal);
    }

    /// <summary>A hub context whose every send fails as Redis being unreachable does: the push of a process that died.</summary>
    private sealed class UnreachableHub : IHubContext<InferenceHub, IInferenceClient>, IHubClients<IInferenceClient>, IInferenceClient
    {
        IHubClients<IInferenceClient> IHubContext<InferenceHub, IInferenceClient>.Clients => this;

        IGroupManager IHubContext<InferenceHub, IInferenceClient>.Groups => throw new NotSupportedException();

        public IInferenceClient All => this;

        public IInferenceClient AllExcept(IReadOnlyList<string> excludedConnectionIds) => this;

        public IInferenceClient Client(string connectionId) => this;

        public IInferenceClient Clients(IReadOnlyList<string> connectionIds) => this;

        public IInferenceClient Group(string groupName) => this;

        public IInferenceClient GroupExcept(string groupName, IReadOnlyList<string> excludedConnectionIds) => this;

        public IInferenceClient Groups(IReadOnlyList<string> groupNames) => this;

        public IInferenceClient User(string userId) => this;

        public IInferenceClient Users(IReadOnlyList<string> userIds) => this;

        public Task JobUpdated(JobRecord update) =>
            Task.FromException(new RedisConnectionException(ConnectionFailureType.SocketFailure, "the process died before this push"));

        public Task Resync() => JobUpdated(null!);
    }

    [Fact]
    public async Task Redis_restart_keeps_stored_results_and_pending_subscribers_still_get_their_pushes()
    {
        await using var client = await InferenceClient.ConnectAsync(system.Gateway(1));
        var before = await client.SubmitAsync("ocr-cls", Fixtures.Bytes("line-001.png"));
        var beforeFinal = await client.FinalAsync(before);

        await Task.WhenAll(system.Aspire.StopReplicaAsync("worker", 0), system.Aspire.StopReplicaAsync("worker", 1));
        var pending = new List<string>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                pending.Add(await client.SubmitAsync("ocr-rec", Fixtures.Bytes($"line-02{i}.png")));
            }
            await system.Aspire.StopReplicaAsync("cache", 0);
            try
            {
                // While Redis is down, HTTP reads that need it answer a retryable problem, not a 500.
                using var admin = new HttpClient { BaseAddress = system.Aspire.GetEndpoint("modelsync") };
                admin.DefaultRequestHeaders.Add("X-Admin-Key", system.AdminKey);
                using var down = await admin.GetAsync("/admin/models", Ct);
                Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
                Assert.Equal("application/problem+json", down.Content.Headers.ContentType?.MediaType);
                Assert.Contains("\"code\":\"store_unavailable\"", await down.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
                Assert.NotNull(down.Headers.RetryAfter);
            }
            finally
            {
                await system.Aspire.StartReplicaAsync("cache", 0);
            }
            await system.Aspire.WaitForHealthyAsync("cache", TimeSpan.FromSeconds(60), Ct);
        }
        finally
        {
            await system.Aspire.StartReplicaAsync("worker", 0);
            await system.Aspire.StartReplicaAsync("worker", 1);
            await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        }

        for (var i = 0; i < pending.Count; i++)
        {
            var final = await client.FinalAsync(pending[i], TimeSpan.FromSeconds(90));
            Assert.Equal(JobStatus.Succeeded, final.Status);
            Assert.Equal(Fixtures.LineText($"line-02{i}.png"), final.Output!.Value.GetProperty("text").GetString()!.Trim());
        }
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway(0) };
        using var response = await http.GetAsync($"/v1/jobs/{before}", Ct);
        var stored = await response.ReadJobAsync();
        Assert.Equal(JobStatus.Succeeded, stored.Status);
        Assert.Equal(beforeFinal.Output!.Value.GetRawText(), stored.Output!.Value.GetRawText());
        Assert.True(system.Aspire.Replica("cache").IsRunning);
    }

    [Fact]
    public async Task Redis_restart_under_load_every_job_reaches_its_subscriber_exactly_once()
    {
        // Both gateways' backplane subscriptions drop with Redis while workers are mid-batch: pushes sent meanwhile are
        // lost, and each gateway, once its subscription is back, tells its connections to resync.
        var ledger = new JobLedger();
        var clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => InferenceClient.ConnectAsync(system.Gateway(i % 2))));
        try
        {
            var image = Fixtures.Bytes("line-032.png");
            await Task.WhenAll(clients.Select(async client =>
            {
                for (var i = 0; i < 15; i++)
                {
                    ledger.Acknowledged(await client.SubmitAsync("ocr-rec", image));
                }
            }));
            await system.Aspire.RestartReplicaAsync("cache", 0);
            await system.Aspire.WaitForHealthyAsync("cache", TimeSpan.FromSeconds(60), Ct);

            var expected = Fixtures.LineText("line-032.png");
            foreach (var client in clients)
            {
                foreach (var id in client.Followed)
                {
                    var final = await client.FinalAsync(id, TimeSpan.FromSeconds(120));
                    Assert.Equal(JobStatus.Succeeded, final.Status);
                    Assert.Equal(expected, final.Output!.Value.GetProperty("text").GetString()!.Trim());
                }
            }
            await Task.Delay(1000, Ct);
            foreach (var client in clients)
            {
                ledger.Observe(client);
            }
            var report = ledger.Tally();
            TestContext.Current.TestOutputHelper?.WriteLine($"{report}; resyncs: {string.Join(", ", clients.Select(c => c.Resyncs))}");
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.Duplicated);
            Assert.Equal(60, report.Succeeded);
            Assert.All(clients, c => Assert.True(c.Resyncs > 0, "a gateway did not ask its connections to resync after Redis came back"));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task RabbitMQ_restart_under_load_finishes_every_acknowledged_job_and_refuses_new_ones_clearly_meanwhile()
    {
        var ledger = new JobLedger();
        await using var client = await InferenceClient.ConnectAsync(system.Gateway(0));
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway(1), Timeout = TimeSpan.FromSeconds(30) };
        var image = Fixtures.Bytes("line-030.png");
        for (var i = 0; i < 60; i++)
        {
            ledger.Acknowledged(await client.SubmitAsync("ocr-rec", image));
        }

        var restart = system.Aspire.RestartReplicaAsync("messaging", 0);
        // While the broker is down, a submission is refused at once with a retryable answer, not left hanging.
        var refusedDuringOutage = 0;
        var outageDeadline = DateTime.UtcNow.AddSeconds(60);
        while ((!restart.IsCompleted || system.Aspire.Replica("messaging") is not { IsRunning: true, Health: "Healthy" }) && DateTime.UtcNow < outageDeadline)
        {
            var started = DateTime.UtcNow;
            using var response = await http.PostAsync("/v1/models/ocr-rec/jobs", Http.Body(image), Ct);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                ledger.Acknowledged((await response.ReadJobAsync()).Id);
            }
            else
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                Assert.Equal("broker_unavailable", (await response.ReadJsonAsync()).GetProperty("code").GetString());
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the refusal took too long");
                refusedDuringOutage++;
            }
            await Task.Delay(200, Ct);
        }
        await restart;
        await system.Aspire.WaitForHealthyAsync("messaging", TimeSpan.FromSeconds(90), Ct);

        // The gateway and the workers recover by themselves: new jobs go through again.
        var recovered = DateTime.UtcNow.AddSeconds(90);
        string? after = null;
        while (after is null && DateTime.UtcNow < recovered)
        {
            try
            {
                after = await client.SubmitAsync("ocr-rec", image);
                ledger.Acknowledged(after);
            }
            catch (Microsoft.AspNetCore.SignalR.HubException)
            {
                await Task.Delay(500, Ct);
            }
        }
        Assert.NotNull(after);

        // Every acknowledged job reaches a terminal state (REST jobs are followed through the store).
        var deadline = DateTime.UtcNow.AddSeconds(180);
        foreach (var id in ledgerIds(ledger))
        {
            var record = await Http.WaitTerminalAsync(http, id, (int)Math.Max(1, (deadline - DateTime.UtcNow).TotalSeconds));
            Assert.True(record.IsTerminal, $"job {id} is still {record.Status}");
            Assert.Equal(JobStatus.Succeeded, record.Status);
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"refused during the outage: {refusedDuringOutage}; acknowledged {ledger.Ids.Count}, all succeeded");
        Assert.True(refusedDuringOutage > 0, "no submission was made while the broker was down");

        static IEnumerable<string> ledgerIds(JobLedger l) => l.Ids;
    }

    [Fact]
    public async Task Gateway_killed_under_load_its_clients_get_every_result_from_the_other_replica()
    {
        var ledger = new JobLedger();
        var image = Fixtures.Bytes("line-031.png");
        var onA = await InferenceClient.ConnectAsync(system.Gateway(0));
        for (var i = 0; i < 40; i++)
        {
            ledger.Acknowledged(await onA.SubmitAsync("ocr-rec", image));
        }
        var gateway = system.Aspire.Replica("gateway", 0);
        var restartsBefore = system.Aspire.Restarts(gateway.Id);
        System.Diagnostics.Process.GetProcessById(gateway.ServicePid!.Value).Kill();
        await onA.DisposeAsync();

        // The client's recovery: connect to another replica and follow its jobs again.
        await using var onB = await InferenceClient.ConnectAsync(system.Gateway(1));
        foreach (var id in ledger.Ids)
        {
            await onB.SubscribeAsync(id);
        }
        foreach (var id in ledger.Ids)
        {
            Assert.Equal(JobStatus.Succeeded, (await onB.FinalAsync(id, TimeSpan.FromSeconds(120))).Status);
        }
        await Task.Delay(1000, Ct);
        ledger.Observe(onB);
        var report = ledger.Tally();
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.Equal(0, report.Lost);
        Assert.Equal(0, report.Duplicated);
        Assert.Equal(40, report.Succeeded);

        // And the killed replica is back, serving again.
        await system.Aspire.WaitUntilAsync(m => m.Restarts(gateway.Id) > restartsBefore, TimeSpan.FromSeconds(90), Ct);
        await system.Aspire.WaitForHealthyAsync("gateway", TimeSpan.FromSeconds(90), Ct);
        Assert.NotEqual(gateway.ServicePid, system.Aspire.Current(gateway.Id).ServicePid);
    }

    [Fact]
    public async Task Worker_hanging_on_a_job_expires_it_at_its_deadline_and_is_replaced()
    {
        var ledger = new JobLedger();
        var restartsBefore = WorkerRestarts();
        await using var client = await InferenceClient.ConnectAsync(system.Gateway(0));
        var submitted = DateTime.UtcNow;
        var hung = await client.SubmitAsync("hanging", Fixtures.Bytes("line-001.png"), new { timeoutSeconds = 3 });
        ledger.Acknowledged(hung);

        // The client is told at the deadline although a worker is still inside the model.
        var final = await client.FinalAsync(hung, TimeSpan.FromSeconds(30));
        var toldAfter = DateTime.UtcNow - submitted;
        Assert.Equal(JobStatus.Expired, final.Status);
        Assert.Equal(JobErrorCodes.DeadlineExceeded, final.Error!.Code);
        Assert.NotNull(final.StartedAt); // it was running, not waiting
        Assert.True(toldAfter < TimeSpan.FromSeconds(3 + 4), $"told after {toldAfter.TotalSeconds:0.0} s");
        // Still held by the hung worker, unacknowledged: the queue length KEDA's scaler reads (ready + unacknowledged)
        // counts it, and so do ModelSync's admin API and the model's dashboard resource, from the worker's heartbeat.
        using var admin = ModelAdmin.CreateClient(system);
        var held = await ModelAdmin.WaitForAsync(admin, m => m.Queue is { Unacknowledged: 1 }, "hanging", TimeSpan.FromSeconds(8));
        Assert.Equal(new AdminQueue(0, 1, 1), held.Queue);

        // Other jobs keep being served while one worker hangs (by the other one, or after the replacement).
        var image = Fixtures.Bytes("line-002.png");
        for (var i = 0; i < 20; i++)
        {
            ledger.Acknowledged(await client.SubmitAsync("ocr-cls", image));
        }

        // The hung replica fails /alive past Worker:HangTimeout and the AppHost replaces it.
        await system.Aspire.WaitUntilAsync(_ => WorkerRestarts() > restartsBefore, TimeSpan.FromSeconds(60), Ct);
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        for (var i = 0; i < 10; i++)
        {
            ledger.Acknowledged(await client.SubmitAsync("ocr-cls", image));
        }
        foreach (var id in ledger.Ids)
        {
            await client.FinalAsync(id, TimeSpan.FromSeconds(90));
        }
        await Task.Delay(1000, Ct); // a late duplicate would show up here
        ledger.Observe(client);
        var report = ledger.Tally();
        TestContext.Current.TestOutputHelper?.WriteLine($"expired after {toldAfter.TotalSeconds:0.0} s; worker restarts {restartsBefore} → {WorkerRestarts()}; {report}");
        Assert.Equal(0, report.Lost);
        Assert.Equal(0, report.Duplicated);
        Assert.Equal(30, report.Succeeded);
        Assert.Equal(1, report.Expired);

        // The hanging job went back to the queue when its worker was killed; redelivered, it is terminal and never runs again.
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway(1) };
        using var response = await http.GetAsync($"/v1/jobs/{hung}", Ct);
        var stored = await response.ReadJobAsync();
        Assert.Equal(JobStatus.Expired, stored.Status);
        Assert.Equal(1, stored.Attempts);
        await ModelAdmin.WaitForAsync(admin, m => m.Queue is { Length: 0 }, "hanging", TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Delayed_and_reset_connections_between_a_worker_and_the_broker_lose_no_job_and_push_none_twice()
    {
        // worker-1 reaches RabbitMQ through our proxy; everything else connects directly.
        var broker = new Uri(system.MessagingConnection);
        await using var proxy = new TcpProxy(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, broker.Port));
        system.WorkerBrokerOverride = new UriBuilder(broker) { Port = proxy.Port }.Uri.ToString().TrimEnd('/');
        var ledger = new JobLedger();
        var submittedBy = new System.Collections.Concurrent.ConcurrentDictionary<string, InferenceClient>();
        var clients = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => InferenceClient.ConnectAsync(system.Gateway(i % 2))));
        var phases = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await system.Aspire.RestartReplicaAsync("worker", 1);
            await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
            Assert.True(proxy.Open > 0, "worker-1 does not connect through the proxy");
            var connectedBefore = proxy.Accepted;
            var routed = phases.Elapsed;

            // Load near capacity, so worker-1 always holds unacked jobs: each client submits a job every 50 ms.
            using var stopLoad = new CancellationTokenSource();
            var image = Fixtures.Bytes("line-040.png");
            var refused = 0;
            var load = clients.Select(client => Task.Run(async () =>
            {
                while (!stopLoad.IsCancellationRequested)
                {
                    try
                    {
                        var id = await client.SubmitAsync("ocr-cls", image);
                        submittedBy[id] = client;
                        ledger.Acknowledged(id);
                    }
                    catch (Microsoft.AspNetCore.SignalR.HubException)
                    {
                        Interlocked.Increment(ref refused); // queue full: never acknowledged, not the ledger's concern
                    }
                    await Task.Delay(50, CancellationToken.None);
                }
            }, CancellationToken.None)).ToList();

            await Task.Delay(2000, Ct);
            proxy.Delay = TimeSpan.FromMilliseconds(150);
            await Task.Delay(3000, Ct);
            proxy.Delay = TimeSpan.Zero;
            for (var i = 0; i < 3; i++)
            {
                proxy.ResetAll();
                await Task.Delay(2000, Ct);
            }
            await stopLoad.CancelAsync();
            await Task.WhenAll(load);
            var loaded = phases.Elapsed;

            foreach (var id in ledger.Ids)
            {
                await submittedBy[id].FinalAsync(id, TimeSpan.FromSeconds(120));
            }
            await Task.Delay(1000, Ct); // a late duplicate would show up here
            foreach (var client in clients)
            {
                ledger.Observe(client);
            }
            var report = ledger.Tally();
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"{report}; refused (queue full) {refused}; proxy: {proxy.Resets} connections reset, {proxy.Accepted - connectedBefore} reconnections; " +
                $"routed at {routed.TotalSeconds:0.0} s, load until {loaded.TotalSeconds:0.0} s, all finished at {phases.Elapsed.TotalSeconds:0.0} s");
            foreach (var failed in clients.SelectMany(c => c.Updates.Values).Select(u => u.Last()).Where(u => u.Status == JobStatus.Failed))
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"failed {failed.Id}: attempts {failed.Attempts}, started {failed.StartedAt:O}, {failed.Error?.Code}: {failed.Error?.Message}");
            }
            Assert.True(proxy.Resets >= 3, $"only {proxy.Resets} connections were reset");
            Assert.True(proxy.Accepted > connectedBefore, "worker-1 never reconnected through the proxy");
            Assert.Equal(0, report.Lost);
            Assert.Equal(0, report.Duplicated);
            Assert.Equal(report.Acknowledged, report.Succeeded);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
            system.WorkerBrokerOverride = null;
            await system.Aspire.RestartReplicaAsync("worker", 1);
            await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        }
    }

    private int WorkerRestarts() => system.Aspire.TotalRestarts("worker");
}
