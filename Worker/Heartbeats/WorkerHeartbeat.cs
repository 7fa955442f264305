using ServiceDefaults.Caching;
using StackExchange.Redis;
using Worker.Batching;
using Worker.Inference;
using Worker.Messaging;

namespace Worker.Heartbeats;

public static class WorkerHeartbeatExtensions
{
    public static IHostApplicationBuilder AddWorkerHeartbeat(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(ServiceIdentity.From(builder.Configuration, "worker"));
        builder.Services.AddHostedService<WorkerHeartbeat>();
        builder.Services.AddHostedService<WorkerCommands>();
        return builder;
    }
}

/// <summary>
/// Publishes this replica's state to Redis every <c>Worker:HeartbeatInterval</c> (2 s) with a short TTL, so the
/// dashboard and ModelSync see live workers and a dead one disappears by itself. Until the replica is ready it beats
/// every 250 ms, so a rollout waiting for it hears "ready" at once rather than up to an interval later.
/// </summary>
public sealed partial class WorkerHeartbeat(
    IConnectionMultiplexer redis, ServiceIdentity identity, ModelHost models, WorkerStats stats, JobConsumer consumer,
    Microsoft.Extensions.Options.IOptions<WorkerOptions> options, ILogger<WorkerHeartbeat> log)
    : BackgroundService
{
    private static readonly TimeSpan StartingInterval = TimeSpan.FromMilliseconds(250);
    private readonly TimeSpan _ttl = options.Value.HeartbeatInterval * 5;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var ready = consumer.IsConsuming;
            try
            {
                await WorkerHeartbeats.WriteAsync(redis.GetDatabase(), identity.InstanceId,
                [
                    new HashEntry("instance", identity.InstanceId),
                    new HashEntry("pid", Environment.ProcessId),
                    new HashEntry("started", _started.ToUnixTimeMilliseconds()),
                    new HashEntry("seen", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                    new HashEntry("ready", ready ? 1 : 0),
                    new HashEntry("models", string.Join(",", models.Runners.Select(r => $"{r.Model}:{r.Version}"))),
                    new HashEntry("serves", string.Join(",", models.Serves)),
                    // model → why another version than the desired one is served: read by ModelSync's admin API.
                    new HashEntry("fallbacks", models.Fallbacks.Count == 0 ? "" : System.Text.Json.JsonSerializer.Serialize(models.Fallbacks)),
                    new HashEntry("inFlight", stats.InFlight),
                    // model → jobs delivered to this worker and not yet acknowledged: ModelSync's queue length per model.
                    new HashEntry("held", string.Join(",", consumer.Held.Select(h => $"{h.Model}:{h.Held}"))),
                    new HashEntry("batches", stats.Batches),
                    new HashEntry("jobs", stats.Jobs),
                    new HashEntry("succeeded", stats.Succeeded),
                    new HashEntry("failed", stats.Failed),
                    new HashEntry("meanBatchSize", stats.MeanBatchSize),
                    new HashEntry("busyMs", (long)stats.BusyTime.TotalMilliseconds),
                ], _ttl);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogHeartbeatFailed(e.Message);
            }

            try
            {
                await Task.Delay(ready ? options.Value.HeartbeatInterval : StartingInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // No more deliveries first: once the heartbeat is gone the gateways count this worker out (a test that stops the
        // workers and then fills a queue relies on it; a job delivered in between would be drained, not queued).
        await consumer.StopConsumingAsync(cancellationToken);
        await base.StopAsync(cancellationToken);
        try
        {
            await WorkerHeartbeats.RemoveAsync(redis.GetDatabase(), identity.InstanceId);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogHeartbeatFailed(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat not written: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);
}
