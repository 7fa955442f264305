namespace Contracts;

/// <summary>Every Redis key and channel name the services share, in one place.</summary>
public static class RedisKeys
{
    /// <summary>Hash written by each worker replica every few seconds; expires when the worker stops.</summary>
    public static string WorkerHeartbeat(string instanceId) => $"worker:{instanceId}";

    public const string WorkerHeartbeatPattern = "worker:*";

    /// <summary>A job's record (JSON string with a TTL).</summary>
    public static string Job(string jobId) => $"job:{jobId}";

    /// <summary>Maps a client's idempotency key to the job it created.</summary>
    public static string Idempotency(string owner, string key) => $"idem:{owner}:{key}";

    /// <summary>Pub/sub channel of job updates heard by every gateway replica.</summary>
    public const string JobUpdatesChannel = "jobs:updates";
}
