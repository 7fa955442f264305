namespace Contracts;

/// <summary>Every Redis key and channel name the services share, in one place.</summary>
public static class RedisKeys
{
    /// <summary>Hash written by each worker replica every few seconds; expires when the worker stops.</summary>
    public static string WorkerHeartbeat(string instanceId) => $"worker:{instanceId}";

    public const string WorkerHeartbeatPattern = "worker:*";

    /// <summary>
    /// Set of the heartbeat keys workers have written. Readers list workers from it (dropping members whose heartbeat
    /// expired) instead of scanning the keyspace, which holds every job record and grows with traffic.
    /// </summary>
    public const string Workers = "workers";

    /// <summary>A job's record (JSON string with a TTL).</summary>
    public static string Job(string jobId) => $"job:{jobId}";

    /// <summary>Maps a client's idempotency key to the job it created.</summary>
    public static string Idempotency(string owner, string key) => $"idem:{owner}:{key}";

    /// <summary>Pub/sub channel of job updates heard by every gateway replica.</summary>
    public const string JobUpdatesChannel = "jobs:updates";

    /// <summary>Pub/sub channel of commands to one worker replica ("drain": stop consuming, finish, exit 0).</summary>
    public static string WorkerCommand(string instanceId) => $"worker:{instanceId}:command";

    /// <summary>Set of model names ModelSync has seen in the bucket.</summary>
    public const string Models = "models";

    /// <summary>Hash version → JSON <see cref="Models.ModelVersionState"/>: ModelSync's verdict on each published version.</summary>
    public static string ModelVersions(string model) => $"model:{model}:versions";

    /// <summary>The version workers should serve (string integer); workers load it at start.</summary>
    public static string ModelDesired(string model) => $"model:{model}:desired";

    /// <summary>A version an operator (or a rollback) fixed as desired; absent means "latest valid".</summary>
    public static string ModelPinned(string model) => $"model:{model}:pinned";

    /// <summary>JSON <see cref="Models.ModelRolloutState"/>: the current or last rollout of a model.</summary>
    public static string ModelRollout(string model) => $"model:{model}:rollout";

    /// <summary>List of JSON <see cref="Models.ModelRolloutState"/>: finished rollouts of a model, newest first (last 20).</summary>
    public static string ModelRolloutHistory(string model) => $"model:{model}:rollouts";
}
