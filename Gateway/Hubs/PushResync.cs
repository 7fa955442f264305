using Gateway.Jobs;
using Microsoft.AspNetCore.SignalR;
using ServiceDefaults.Jobs;
using ServiceDefaults.Push;
using StackExchange.Redis;

namespace Gateway.Hubs;

/// <summary>
/// Pub/sub is at-most-once: while this gateway's Redis subscription was down, pushes to its connections (and notices to
/// its waiting HTTP requests) were lost. Once it is back, every hub connection here is told to <c>Resync</c> — subscribe
/// again to what it still waits for, which returns the current states — and the waiting requests' jobs are read again.
/// </summary>
public sealed partial class PushResync(
    IConnectionMultiplexer redis,
    InferenceHubHandler handler,
    JobWaiters waiters,
    JobStore store,
    IHubContext<InferenceHub, IInferenceClient> hub,
    ILogger<PushResync> log) : IHostedService
{
    /// <summary>Subscriptions are restored right after the connection: give them a moment before clients re-subscribe.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored += OnRestored;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored -= OnRestored;
        _stopping.Cancel();
        return Task.CompletedTask;
    }

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            _ = Task.Run(() => ResyncAsync(_stopping.Token));
        }
    }

    public async Task ResyncAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Settle, cancellationToken);
            var connections = handler.Connections.ToList();
            var pending = waiters.PendingJobs.ToList();
            LogResync(connections.Count, pending.Count);
            foreach (var connection in connections)
            {
                // A local connection: written directly, not through Redis.
                await hub.Clients.Client(connection).Resync();
            }
            for (var i = 0; i < pending.Count; i += 500)
            {
                foreach (var record in await store.GetManyAsync(pending.GetRange(i, Math.Min(500, pending.Count - i))))
                {
                    if (record is not null)
                    {
                        waiters.Complete(record);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogResyncFailed(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis subscription restored; asking {Connections} hub connections to resync, re-reading {Jobs} waited-for jobs")]
    private partial void LogResync(int connections, int jobs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Resync after the Redis reconnect failed: {Reason}")]
    private partial void LogResyncFailed(string reason);
}
