using Contracts;
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
/// Publishes this replica's state to Redis every <see cref="Interval"/> with a short TTL, so the
/// dashboard and ModelSync see live workers and a dead one disappears by itself.
/// </summary>
public sealed partial class WorkerHeartbeat(
    IConnectionMultiplexer redis, ServiceIdentity identity, ModelHost models, WorkerStats stats, JobConsumer consumer, ILogger<WorkerHeartbeat> log)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var key = RedisKeys.WorkerHeartbeat(identity.InstanceId);
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                var db = redis.GetDatabase();
                await db.HashSetAsync(key,
                [
                    new HashEntry("instance", identity.InstanceId),
                    new HashEntry("pid", Environment.ProcessId),
                    new HashEntry("started", _started.ToUnixTimeMilliseconds()),
                    new HashEntry("seen", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                    new HashEntry("ready", consumer.IsConsuming ? 1 : 0),
                    new HashEntry("models", string.Join(",", models.Runners.Select(r => $"{r.Model}:{r.Version}"))),
                    new HashEntry("serves", string.Join(",", models.Serves)),
                    new HashEntry("inFlight", stats.InFlight),
                    new HashEntry("batches", stats.Batches),
                    new HashEntry("jobs", stats.Jobs),
                    new HashEntry("succeeded", stats.Succeeded),
                    new HashEntry("failed", stats.Failed),
                    new HashEntry("meanBatchSize", stats.MeanBatchSize),
                ]);
                await db.KeyExpireAsync(key, Ttl);
                await db.SetAddAsync(RedisKeys.Workers, key);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogHeartbeatFailed(e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await redis.GetDatabase().KeyDeleteAsync(RedisKeys.WorkerHeartbeat(identity.InstanceId));
            await redis.GetDatabase().SetRemoveAsync(RedisKeys.Workers, RedisKeys.WorkerHeartbeat(identity.InstanceId));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogHeartbeatFailed(e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Heartbeat not written: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);
}
