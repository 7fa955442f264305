using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Contracts.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Client.Tests.Cli;

/// <summary>A gateway stand-in: jobs live in a store shared by every replica (as in Redis), results are only read on Subscribe.</summary>
public sealed class StubGatewayHub(StubJobStore store) : Hub
{
    public string Submit(string model, byte[] input, JsonElement? options)
    {
        var id = Guid.NewGuid().ToString("N");
        store.Inputs[id] = input;
        store.Jobs[id] = new JobRecord { Id = id, Model = model, Status = JobStatus.Queued };
        return id;
    }

    public JobRecord Subscribe(string jobId)
    {
        store.Subscribes.Enqueue(jobId);
        return store.Jobs.TryGetValue(jobId, out var record) ? record : throw new HubException($"job_not_found: There is no job '{jobId}'.");
    }
}

public sealed class StubJobStore
{
    public ConcurrentDictionary<string, JobRecord> Jobs { get; } = new();

    public ConcurrentDictionary<string, byte[]> Inputs { get; } = new();

    public ConcurrentQueue<string> Subscribes { get; } = new();

    /// <summary>The job finished while nobody pushed it (a worker wrote it to the shared store).</summary>
    public void FinishUnpushed(string id) => Jobs[id] = Jobs[id] with
    {
        Status = JobStatus.Succeeded,
        Output = JsonDocument.Parse("""{"text":"hello","confidence":0.9}""").RootElement.Clone(),
    };
}

public sealed class InferenceClientReconnectTests
{
    private readonly StubJobStore _store = new();

    [Theory, InlineData(HubProtocol.Json), InlineData(HubProtocol.MessagePack)]
    public async Task Pending_job_is_resubscribed_on_the_replica_the_client_reconnects_to_and_its_result_arrives(HubProtocol protocol)
    {
        var port = FreePort();
        var first = await StartReplicaAsync(port);
        var options = new InferenceClientOptions
        {
            // Every 200 ms for a minute: the stop and the new start take well under a second alone, but this assembly runs
            // beside AppHost.Tests' graph starts, and once took longer than the 10 s it tried for until 2026-12-03.
            ReconnectDelays = [.. Enumerable.Repeat(TimeSpan.FromMilliseconds(200), 300)],
            Protocol = protocol,
        };
        await using var client = await InferenceClient.ConnectAsync(new Uri($"http://127.0.0.1:{port}"), options, TestContext.Current.CancellationToken);
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Reconnected += () => { reconnected.TrySetResult(); return Task.CompletedTask; };

        var id = await client.SubmitAsync("ocr-rec", [1, 2, 3], cancellationToken: TestContext.Current.CancellationToken);
        var waiting = client.WaitAsync(id, TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // The replica goes away; the job finishes meanwhile, and nobody pushed it.
        await first.StopAsync(TestContext.Current.CancellationToken);
        await first.DisposeAsync();
        _store.FinishUnpushed(id);
        await using var second = await StartReplicaAsync(port);

        var record = await waiting;
        await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(JobStatus.Succeeded, record.Status);
        Assert.Equal("hello", record.Output!.Value.GetProperty("text").GetString());
        Assert.Equal([id], _store.Subscribes);
    }

    [Theory, InlineData(HubProtocol.Json), InlineData(HubProtocol.MessagePack)]
    public async Task Resync_from_the_gateway_subscribes_again_to_every_job_still_awaited(HubProtocol protocol)
    {
        await using var app = await StartReplicaAsync(port: 0);
        await using var client = await TestGateway.ConnectAsync(app, protocol);
        var reconnects = 0;
        client.Reconnected += () => { Interlocked.Increment(ref reconnects); return Task.CompletedTask; };
        var done = await client.SubmitAsync("ocr-cls", [1], cancellationToken: TestContext.Current.CancellationToken);
        _store.FinishUnpushed(done);
        await client.SubscribeAsync(done, TestContext.Current.CancellationToken);
        await client.WaitAsync(done, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var subscribedBefore = _store.Subscribes.Count;
        var pending = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            client.SubmitAsync("ocr-cls", [2], cancellationToken: TestContext.Current.CancellationToken)));
        var waiting = pending.Select(id => client.WaitAsync(id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).ToList();

        // The pending jobs finish unpushed; the gateway then asks its clients to subscribe again.
        foreach (var id in pending)
        {
            _store.FinishUnpushed(id);
        }
        await app.Services.GetRequiredService<IHubContext<StubGatewayHub>>().Clients.All.SendAsync("Resync", TestContext.Current.CancellationToken);
        var records = await Task.WhenAll(waiting);

        Assert.All(records, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        // Only the jobs still awaited were asked for again, not the one already finished.
        Assert.Equal(pending.Order(), _store.Subscribes.Skip(subscribedBefore).Order());
        Assert.Equal(0, reconnects);
    }

    [Theory, InlineData(HubProtocol.Json), InlineData(HubProtocol.MessagePack)]
    public async Task Image_reaches_the_gateway_byte_for_byte(HubProtocol protocol)
    {
        await using var app = await StartReplicaAsync(port: 0);
        await using var client = await TestGateway.ConnectAsync(app, protocol);
        var image = new byte[300_000];
        new Random(7).NextBytes(image);

        var id = await client.SubmitAsync("ocr-det", image, new SubmitOptions(TimeoutSeconds: 5), TestContext.Current.CancellationToken);

        Assert.Equal(image, _store.Inputs[id]);
    }

    private Task<WebApplication> StartReplicaAsync(int port) =>
        TestGateway.StartAsync<StubGatewayHub>(port, services => services.AddSingleton(_store));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
