using System.Diagnostics;
using System.Threading.Channels;
using Contracts;
using Contracts.Jobs;
using Gateway.Jobs;
using Microsoft.AspNetCore.SignalR;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Gateway.Hubs;

/// <summary>
/// Hears every job update on Redis pub/sub (all gateway replicas do) and pushes it to this replica's
/// subscribed connections and waiting HTTP requests. Pub/sub is at-most-once, so after Redis
/// reconnects it re-reads the stored records of every job still followed here. Pushing a job's final update is a
/// span of the job's trace (its context rides on the record, so joining the trace costs no extra read).
/// </summary>
public sealed partial class JobUpdateRelay(
    IConnectionMultiplexer redis,
    JobStore store,
    JobSubscriptions subscriptions,
    JobWaiters waiters,
    IHubContext<InferenceHub, IInferenceClient> hub,
    ILogger<JobUpdateRelay> log) : BackgroundService
{
    private static readonly ActivitySource Source = new("Aspire.Inference.Gateway");

    private readonly Channel<JobRecord> _updates = Channel.CreateUnbounded<JobRecord>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Delivers a record read from the store (after Subscribe or a reconnect); same de-duplication as notices.</summary>
    public ValueTask DeliverAsync(JobRecord record) => _updates.Writer.WriteAsync(record);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal(RedisKeys.JobUpdatesChannel), (_, message) =>
        {
            if (message.IsNullOrEmpty)
            {
                return;
            }
            try
            {
                var record = JobJson.Deserialize(message!);
                if (waiters.HasWaiters(record.Id) || record.Status is not JobStatus.Queued)
                {
                    _updates.Writer.TryWrite(record);
                }
            }
            catch (System.Text.Json.JsonException e)
            {
                LogBadNotice(e.Message);
            }
        });
        redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                _ = Task.Run(() => RereadPendingAsync(stoppingToken), stoppingToken);
            }
        };

        await foreach (var record in _updates.Reader.ReadAllAsync(stoppingToken))
        {
            var recipients = subscriptions.TakeRecipients(record);
            using var push = StartPushSpan(record, recipients.Count, waiters.HasWaiters(record.Id));
            waiters.Complete(record);
            if (recipients.Count > 0)
            {
                try
                {
                    await hub.Clients.Clients(recipients).JobUpdated(record);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    push?.SetStatus(ActivityStatusCode.Error, e.Message);
                    LogPushFailed(record.Id, e.Message);
                }
            }
        }
    }

    /// <summary>A "push job update" span, child of the job's "submit job" span, when this replica delivers a final update.</summary>
    private static Activity? StartPushSpan(JobRecord record, int connections, bool waiting)
    {
        if (!record.IsTerminal || (connections == 0 && !waiting) || record.TraceParent is null || !Source.HasListeners()
            || !ActivityContext.TryParse(record.TraceParent, null, isRemote: true, out var parent))
        {
            return null;
        }
        var span = Source.StartActivity("push job update", ActivityKind.Producer, parent);
        span?.SetTag("job.id", record.Id);
        span?.SetTag("job.status", record.Status.ToWire());
        span?.SetTag("push.connections", connections);
        span?.SetTag("push.waiters", waiting);
        return span;
    }

    /// <summary>Re-reads what may have been missed while the subscription was down.</summary>
    public async Task RereadPendingAsync(CancellationToken cancellationToken)
    {
        var ids = subscriptions.PendingJobs().Concat(waiters.PendingJobs).Distinct().ToList();
        LogRereading(ids.Count);
        for (var i = 0; i < ids.Count && !cancellationToken.IsCancellationRequested; i += 500)
        {
            try
            {
                foreach (var record in await store.GetManyAsync(ids.GetRange(i, Math.Min(500, ids.Count - i))))
                {
                    if (record is not null)
                    {
                        await DeliverAsync(record);
                    }
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogPushFailed("(re-read)", e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a malformed job notice: {Reason}")]
    private partial void LogBadNotice(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushing the update of job {JobId} failed: {Reason}")]
    private partial void LogPushFailed(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis subscription restored; re-reading {Count} followed jobs")]
    private partial void LogRereading(int count);
}
