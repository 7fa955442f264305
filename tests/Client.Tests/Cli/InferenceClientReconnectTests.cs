using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Contracts.Jobs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Client.Tests.Cli;

/// <summary>A gateway stand-in: jobs live in a store shared by every replica (as in Redis), results are only read on Subscribe.</summary>
public sealed class StubGatewayHub(StubJobStore store) : Hub
{
    public string Submit(string model, byte[] input, JsonElement? options)
    {
        var id = Guid.NewGuid().ToString("N");
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

    public ConcurrentQueue<string> Subscribes { get; } = new();
}

public sealed class InferenceClientReconnectTests
{
    private readonly StubJobStore _store = new();

    [Fact]
    public async Task Pending_job_is_resubscribed_on_the_replica_the_client_reconnects_to_and_its_result_arrives()
    {
        var port = FreePort();
        var first = await StartReplicaAsync(port);
        var options = new InferenceClientOptions
        {
            ReconnectDelays = [.. Enumerable.Repeat(TimeSpan.FromMilliseconds(200), 50)],
        };
        await using var client = await InferenceClient.ConnectAsync(new Uri($"http://127.0.0.1:{port}"), options, TestContext.Current.CancellationToken);
        var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Reconnected += () => { reconnected.TrySetResult(); return Task.CompletedTask; };

        var id = await client.SubmitAsync("ocr-rec", [1, 2, 3], cancellationToken: TestContext.Current.CancellationToken);
        var waiting = client.WaitAsync(id, TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        // The replica goes away; the job finishes meanwhile (a worker wrote it to the shared store), and nobody pushed it.
        await first.StopAsync(TestContext.Current.CancellationToken);
        await first.DisposeAsync();
        _store.Jobs[id] = _store.Jobs[id] with
        {
            Status = JobStatus.Succeeded,
            Output = JsonDocument.Parse("""{"text":"hello","confidence":0.9}""").RootElement.Clone(),
        };
        await using var second = await StartReplicaAsync(port);

        var record = await waiting;
        await reconnected.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(JobStatus.Succeeded, record.Status);
        Assert.Equal("hello", record.Output!.Value.GetProperty("text").GetString());
        Assert.Equal([id], _store.Subscribes);
    }

    private async Task<WebApplication> StartReplicaAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_store);
        builder.Services.AddSignalR();
        var app = builder.Build();
        app.MapHub<StubGatewayHub>("/hubs/inference");
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
