namespace Contracts;

/// <summary>Every Redis key and channel name the services share, in one place.</summary>
public static class RedisKeys
{
    /// <summary>Hash written by each worker replica every few seconds; expires when the worker stops.</summary>
    public static string WorkerHeartbeat(string instanceId) => $"worker:{instanceId}";

    public const string WorkerHeartbeatPattern = "worker:*";
}
