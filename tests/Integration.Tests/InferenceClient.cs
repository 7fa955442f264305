using System.Collections.Concurrent;
using Client.SignalR;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>
/// A hub client for tests: connects to one gateway and records, per job, every state it was given — pushed
/// (<c>JobUpdated</c>) or returned by <c>Subscribe</c>: what a user of the hub sees. Each state must arrive once.
/// </summary>
public sealed class InferenceClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<JobRecord>> _updates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobRecord>> _final = new();

    private InferenceClient(Uri gateway)
    {
        Connection = new HubConnection(new Uri(gateway, "/hubs/inference"));
        Connection.On<JobRecord>("JobUpdated", update =>
        {
            Record(update);
            return Task.CompletedTask;
        });
    }

    private void Record(JobRecord update)
    {
        _updates.GetOrAdd(update.Id, _ => new()).Enqueue(update);
        if (update.IsTerminal)
        {
            _final.GetOrAdd(update.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(update);
        }
    }

    public HubConnection Connection { get; }

    /// <summary>Every state received (pushed or returned by Subscribe), by job id.</summary>
    public IReadOnlyDictionary<string, ConcurrentQueue<JobRecord>> Updates => _updates;

    public static async Task<InferenceClient> ConnectAsync(Uri gateway)
    {
        var client = new InferenceClient(gateway);
        await client.Connection.StartAsync(TestContext.Current.CancellationToken);
        return client;
    }

    public Task<string> SubmitAsync(string model, byte[] input, object? options = null) =>
        Connection.InvokeAsync<string>("Submit", [model, input, options], TestContext.Current.CancellationToken);

    public async Task<JobRecord> SubscribeAsync(string jobId)
    {
        var current = await Connection.InvokeAsync<JobRecord>("Subscribe", [jobId], TestContext.Current.CancellationToken);
        Record(current);
        return current;
    }

    public Task<JobRecord> CancelAsync(string jobId) =>
        Connection.InvokeAsync<JobRecord>("Cancel", [jobId], TestContext.Current.CancellationToken);

    public async Task<JobRecord> FinalAsync(string jobId, TimeSpan? timeout = null) =>
        await _final.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task
            .WaitAsync(timeout ?? TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
