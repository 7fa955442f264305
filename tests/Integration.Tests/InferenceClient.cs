using System.Collections.Concurrent;
using Contracts.Jobs;
using Contracts.Push;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Integration.Tests;

/// <summary>A hub client for tests: connects to one gateway and records every JobUpdated push per job.</summary>
public sealed class InferenceClient : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConcurrentQueue<JobRecord>> _updates = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobRecord>> _final = new();

    private InferenceClient(Uri gateway, bool messagePack)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(gateway, "/hubs/inference"));
        Connection = (messagePack ? builder.AddMessagePackProtocol(o => o.SerializerOptions = HubMessagePack.Options) : builder).Build();
        Connection.On<JobRecord>("JobUpdated", update =>
        {
            _updates.GetOrAdd(update.Id, _ => new()).Enqueue(update);
            if (update.IsTerminal)
            {
                _final.GetOrAdd(update.Id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(update);
            }
            return Task.CompletedTask;
        });
    }

    public HubConnection Connection { get; }

    /// <summary>Every push received, by job id.</summary>
    public IReadOnlyDictionary<string, ConcurrentQueue<JobRecord>> Updates => _updates;

    public static async Task<InferenceClient> ConnectAsync(Uri gateway, bool messagePack = false)
    {
        var client = new InferenceClient(gateway, messagePack);
        await client.Connection.StartAsync(TestContext.Current.CancellationToken);
        return client;
    }

    public Task<string> SubmitAsync(string model, byte[] input, object? options = null) =>
        Connection.InvokeAsync<string>("Submit", model, input, options, TestContext.Current.CancellationToken);

    public Task<JobRecord> SubscribeAsync(string jobId) =>
        Connection.InvokeAsync<JobRecord>("Subscribe", jobId, TestContext.Current.CancellationToken);

    public Task<JobRecord> CancelAsync(string jobId) =>
        Connection.InvokeAsync<JobRecord>("Cancel", jobId, TestContext.Current.CancellationToken);

    public async Task<JobRecord> FinalAsync(string jobId, TimeSpan? timeout = null) =>
        await _final.GetOrAdd(jobId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task
            .WaitAsync(timeout ?? TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => Connection.DisposeAsync();
}
