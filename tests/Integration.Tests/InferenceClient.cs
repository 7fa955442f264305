using System.Collections.Concurrent;
using Contracts.Jobs;
using Contracts.Push;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Integration.Tests;

/// <summary>
/// A hub client for tests: connects to one gateway and records, per job, every state it was given — pushed
/// (<c>JobUpdated</c>) or returned by <c>Subscribe</c>: what a user of the hub sees. Each state must arrive once.
/// </summary>
public sealed class InferenceClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<JobRecord>> _updates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobRecord>> _final = new();

    private InferenceClient(Uri gateway, bool messagePack, string apiKey)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(gateway, "/hubs/inference"),
            o => o.AccessTokenProvider = () => Task.FromResult<string?>(apiKey));
        Connection = (messagePack ? builder.AddMessagePackProtocol(o => o.SerializerOptions = HubMessagePack.Options) : builder).Build();
        Connection.On<JobRecord>("JobUpdated", update =>
        {
            _pushes.GetOrAdd(update.Id, _ => new()).Enqueue(update);
            Record(update);
            return Task.CompletedTask;
        });
        // The gateway may have missed pushes (its Redis subscription dropped): follow every unfinished job again.
        Connection.On("Resync", async () =>
        {
            Interlocked.Increment(ref _resyncs);
            foreach (var id in _followed.Keys.Where(id => !_final.TryGetValue(id, out var f) || !f.Task.IsCompleted).ToList())
            {
                await SubscribeAsync(id);
            }
        });
    }

    private int _resyncs;
    private readonly ConcurrentDictionary<string, byte> _followed = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<JobRecord>> _pushes = new();

    /// <summary>
    /// The states pushed (<c>JobUpdated</c>) by job id: the server pushes each at most once. (After a <c>Resync</c>, the
    /// state a re-subscribe returns may repeat one pushed meanwhile; clients keep the newest state per job.)
    /// </summary>
    public IReadOnlyDictionary<string, ConcurrentQueue<JobRecord>> Pushes => _pushes;

    /// <summary>The jobs this client submitted or subscribed to.</summary>
    public IReadOnlyCollection<string> Followed => [.. _followed.Keys];

    /// <summary>How many times the gateway asked this client to resync.</summary>
    public int Resyncs => _resyncs;

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

    /// <summary>Connects with <paramref name="apiKey"/>, by default the development account's (<see cref="SystemFixture.ApiKey"/>).</summary>
    public static async Task<InferenceClient> ConnectAsync(Uri gateway, bool messagePack = false, string? apiKey = null)
    {
        var client = new InferenceClient(gateway, messagePack, apiKey ?? SystemFixture.ApiKey);
        await client.Connection.StartAsync(TestContext.Current.CancellationToken);
        return client;
    }

    public async Task<string> SubmitAsync(string model, byte[] input, object? options = null)
    {
        var id = await Connection.InvokeAsync<string>("Submit", model, input, options, TestContext.Current.CancellationToken);
        _followed.TryAdd(id, 0);
        return id;
    }

    public async Task<JobRecord> SubscribeAsync(string jobId)
    {
        _followed.TryAdd(jobId, 0);
        var current = await Connection.InvokeAsync<JobRecord>("Subscribe", jobId, TestContext.Current.CancellationToken);
        Record(current);
        return current;
    }

    public Task<JobRecord> CancelAsync(string jobId) =>
        Connection.InvokeAsync<JobRecord>("Cancel", jobId, TestContext.Current.CancellationToken);

    public async Task<JobRecord> FinalAsync(string jobId, TimeSpan? timeout = null) =>
        await _final.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task
            .WaitAsync(timeout ?? TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
