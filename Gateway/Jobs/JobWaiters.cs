using System.Collections.Concurrent;
using Contracts;
using Contracts.Jobs;
using ServiceDefaults.Jobs;
using ServiceDefaults.Push;
using StackExchange.Redis;

namespace Gateway.Jobs;

/// <summary>
/// HTTP requests waiting for a job to finish (<c>?wait=</c>, predict, OIP infer) on this replica. The jobs they wait for
/// are followed under this process's <see cref="Follower"/> entry, so the job store publishes their final states on this
/// process's own channel (<see cref="RedisKeys.WaiterChannel"/>): no gateway hears another's jobs.
/// </summary>
public sealed partial class JobWaiters(IConnectionMultiplexer redis, ILogger<JobWaiters> log) : IHostedService
{
    private readonly ConcurrentDictionary<string, List<TaskCompletionSource<JobRecord>>> _waiters = new(StringComparer.Ordinal);
    private readonly string _id = Guid.NewGuid().ToString("N");

    /// <summary>This process's follower entry (new per process: a restarted gateway has no waiting requests left).</summary>
    public string Follower => JobStore.WaiterFollower(_id);

    public async Task StartAsync(CancellationToken cancellationToken) =>
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.WaiterChannel(_id)), (_, message) =>
        {
            if (message.IsNullOrEmpty)
            {
                return;
            }
            try
            {
                var record = JobJson.Deserialize(message!);
                using var push = _waiters.ContainsKey(record.Id) ? JobPush.StartPushSpan(record, 0, waiting: true) : null;
                Complete(record);
            }
            catch (System.Text.Json.JsonException e)
            {
                LogBadNotice(e.Message);
            }
        });

    public Task StopAsync(CancellationToken cancellationToken) =>
        redis.GetSubscriber().UnsubscribeAsync(RedisChannel.Literal(RedisKeys.WaiterChannel(_id)));

    public Task<JobRecord> Register(string jobId, out Action unregister)
    {
        var tcs = new TaskCompletionSource<JobRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        var list = _waiters.GetOrAdd(jobId, _ => []);
        lock (list)
        {
            list.Add(tcs);
        }
        unregister = () =>
        {
            lock (list)
            {
                list.Remove(tcs);
                if (list.Count == 0)
                {
                    _waiters.TryRemove(new KeyValuePair<string, List<TaskCompletionSource<JobRecord>>>(jobId, list));
                }
            }
        };
        return tcs.Task;
    }

    public IEnumerable<string> PendingJobs => _waiters.Keys;

    public void Complete(JobRecord record)
    {
        if (!record.IsTerminal || !_waiters.TryRemove(record.Id, out var list))
        {
            return;
        }
        lock (list)
        {
            foreach (var tcs in list)
            {
                tcs.TrySetResult(record);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a malformed job notice: {Reason}")]
    private partial void LogBadNotice(string reason);
}
