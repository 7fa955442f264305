using AppHost.Hosting;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>Nothing acknowledged is lost or pushed twice while processes die and restart for real.</summary>
public sealed class ReliabilityTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Worker_killed_mid_batch_loses_no_job_and_pushes_none_twice()
    {
        var ledger = new JobLedger();
        var clients = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => InferenceClient.ConnectAsync(system.Gateway(i % 2))));
        try
        {
            var image = Fixtures.Bytes("line-020.png");
            var ids = new List<string>();
            foreach (var client in clients)
            {
                for (var i = 0; i < 40; i++)
                {
                    var id = await client.SubmitAsync("ocr-rec", image);
                    ledger.Acknowledged(id);
                    ids.Add(id);
                }
            }
            // Let the workers get into the backlog, then kill one without warning.
            await Task.Delay(700, Ct);
            var victim = system.App.Model.Get("worker-0")!;
            Assert.True(victim.IsRunning);
            System.Diagnostics.Process.GetProcessById(victim.Pid!.Value).Kill();

            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (clients.Sum(c => c.Updates.Values.Count(u => u.Any(x => x.IsTerminal))) < ids.Count && DateTime.UtcNow < deadline)
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
            await system.App.WaitForResourceHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        }

        var report = ledger.Tally();
        TestContext.Current.TestOutputHelper?.WriteLine(report.ToString());
        Assert.Equal(160, report.Acknowledged);
        Assert.Equal(0, report.Lost);
        Assert.Equal(0, report.Duplicated);
        Assert.Equal(160, report.Succeeded);
        Assert.True(system.App.Model.Get("worker-0")!.Restarts >= 1);
    }

    [Fact]
    public async Task Redis_restart_keeps_stored_results_and_pending_subscribers_still_get_their_pushes()
    {
        await using var client = await InferenceClient.ConnectAsync(system.Gateway(1));
        var before = await client.SubmitAsync("ocr-cls", Fixtures.Bytes("line-001.png"));
        var beforeFinal = await client.FinalAsync(before);

        await Task.WhenAll(system.App.StopReplicaAsync("worker-0"), system.App.StopReplicaAsync("worker-1"));
        var pending = new List<string>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                pending.Add(await client.SubmitAsync("ocr-rec", Fixtures.Bytes($"line-02{i}.png")));
            }
            await system.App.RestartReplicaAsync("cache");
            await system.App.WaitForResourceHealthyAsync("cache", TimeSpan.FromSeconds(60), Ct);
        }
        finally
        {
            system.App.StartReplica("worker-0");
            system.App.StartReplica("worker-1");
            await system.App.WaitForResourceHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        }

        for (var i = 0; i < pending.Count; i++)
        {
            var final = await client.FinalAsync(pending[i], TimeSpan.FromSeconds(90));
            Assert.Equal(JobStatus.Succeeded, final.Status);
            Assert.Equal(Fixtures.LineText($"line-02{i}.png"), final.Output!.Value.GetProperty("text").GetString()!.Trim());
        }
        using var http = new HttpClient { BaseAddress = system.Gateway(0) };
        using var response = await http.GetAsync($"/v1/jobs/{before}", Ct);
        var stored = await response.ReadJobAsync();
        Assert.Equal(JobStatus.Succeeded, stored.Status);
        Assert.Equal(beforeFinal.Output!.Value.GetRawText(), stored.Output!.Value.GetRawText());
        Assert.Equal(ResourceState.Running, system.App.Model.Get("cache")!.State);
    }
}
