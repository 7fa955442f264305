namespace Contracts.Models;

/// <summary>
/// One model as ModelSync's admin API (<c>GET /admin/models</c>) describes it: what the bucket holds and how each version
/// was judged, the desired and pinned version, what each live worker serves, the current rollout and the last ones.
/// </summary>
/// <param name="Fallbacks">Workers serving another version than they were told to (it could not be fetched), with their reason.</param>
/// <param name="Queue">The model's job queue (null while RabbitMQ cannot be asked, or before any service declared it).</param>
public sealed record AdminModel(
    string Name,
    IReadOnlyDictionary<int, ModelVersionState> Versions,
    int? Desired,
    int? Pinned,
    IReadOnlyDictionary<string, int?> Serving,
    ModelRolloutState? Rollout,
    IReadOnlyList<ModelRolloutState> History,
    IReadOnlyDictionary<string, string>? Fallbacks = null,
    ModelQueue? Queue = null);

/// <summary>
/// A model's job queue as the autoscaler sees it: KEDA's RabbitMQ scaler in <c>QueueLength</c> mode over the management API
/// counts the queue's messages, ready and unacknowledged — <see cref="Length"/>. Here <paramref name="Ready"/> comes from
/// RabbitMQ (a passive declare) and <paramref name="Unacknowledged"/> from the live workers' heartbeats (jobs delivered
/// to them and not yet acknowledged), so it can lag by one heartbeat (2 s).
/// </summary>
public sealed record ModelQueue(long Ready, long Unacknowledged)
{
    public long Length => Ready + Unacknowledged;
}
