using System.Collections.Concurrent;
using System.Text.Json;
using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR;

namespace Client.Tests.Cli;

/// <summary>
/// A gateway that repeats itself: pushes every state more than once and some out of date, and Subscribe pushes an old
/// state before returning the current one (as a push and Subscribe's answer can overlap on the real gateway).
/// </summary>
public sealed class RepeatingHub : Hub
{
    private static readonly JobStatus[] Pushed =
    [
        JobStatus.Queued, JobStatus.Queued, JobStatus.Running, JobStatus.Queued, JobStatus.Running,
        JobStatus.Succeeded, JobStatus.Running, JobStatus.Succeeded,
    ];

    public async Task<string> Submit(string model, byte[] input, JsonElement? options)
    {
        var id = Guid.NewGuid().ToString("N");
        foreach (var status in Pushed)
        {
            await Clients.Caller.SendAsync("JobUpdated", Record(id, status));
        }
        return id;
    }

    public async Task<JobRecord> Subscribe(string jobId)
    {
        await Clients.Caller.SendAsync("JobUpdated", Record(jobId, JobStatus.Running));
        return Record(jobId, JobStatus.Succeeded);
    }

    private static JobRecord Record(string id, JobStatus status) => new()
    {
        Id = id,
        Model = "ocr-cls",
        Status = status,
        Output = status == JobStatus.Succeeded ? JsonDocument.Parse("""{"labels":[{"label":"0","score":0.98}]}""").RootElement.Clone() : null,
    };
}

public sealed class InferenceClientStateOrderTests
{
    [Theory, InlineData(HubProtocol.Json), InlineData(HubProtocol.MessagePack)]
    public async Task Each_state_of_a_job_surfaces_once_and_in_order_however_often_the_gateway_repeats_it(HubProtocol protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var app = await TestGateway.StartAsync<RepeatingHub>();
        await using var client = await TestGateway.ConnectAsync(app, protocol);
        var raised = new ConcurrentQueue<JobStatus>();
        client.JobUpdated += update => raised.Enqueue(update.Status);
        await using var updates = client.UpdatesAsync(ct).GetAsyncEnumerator(ct);
        var firstUpdate = updates.MoveNextAsync(); // registers the reader before anything is sent

        var id = await client.SubmitAsync("ocr-cls", [1], cancellationToken: ct);
        var subscribed = await client.SubscribeAsync(id, ct);
        var final = await client.WaitAsync(id, TimeSpan.FromSeconds(5), ct);
        var again = await client.WaitAsync(id, TimeSpan.FromSeconds(5), ct);

        // The stock client may hand Submit's answer back before the pushes sent ahead of it, and Subscribe's answer can
        // overtake them too: an older state that comes late is skipped, never shown after a newer one.
        var states = raised.ToList();
        Assert.Equal(JobStatus.Succeeded, states[^1]);
        Assert.Equal(states.Distinct().Order(), states);
        Assert.True(await firstUpdate);
        var streamed = new List<JobStatus> { updates.Current.Status };
        while (!streamed[^1].IsTerminal() && await updates.MoveNextAsync())
        {
            streamed.Add(updates.Current.Status);
        }
        Assert.Equal(states, streamed);
        Assert.Equal((JobStatus.Succeeded, JobStatus.Succeeded, JobStatus.Succeeded), (subscribed.Status, final.Status, again.Status));
        Assert.Equal(0.98, final.Output!.Value.GetProperty("labels")[0].GetProperty("score").GetDouble());
        // Nothing after the terminal state, although the second WaitAsync subscribed and heard "running" once more.
        Assert.Equal(states, raised);
    }

    [Fact]
    public void Memory_of_surfaced_states_is_bounded_but_keeps_every_job_still_awaited()
    {
        var awaited = new HashSet<string> { "long" };
        var states = new SurfacedStates(capacity: 100, awaited.Contains);
        Assert.True(states.TryAdvance("long", JobStatus.Running));

        for (var i = 0; i < 10_000; i++)
        {
            states.TryAdvance($"job-{i}", JobStatus.Queued);
            states.TryAdvance($"job-{i}", JobStatus.Succeeded);
        }

        Assert.InRange(states.Count, 1, 100);
        Assert.False(states.TryAdvance("long", JobStatus.Running));
        Assert.False(states.TryAdvance("job-9999", JobStatus.Failed));
        Assert.True(states.TryAdvance("long", JobStatus.Succeeded));
    }
}
