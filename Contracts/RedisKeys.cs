namespace Contracts;

/// <summary>Every Redis key and channel name the services share, in one place.</summary>
public static class RedisKeys
{
    /// <summary>Hash written by each worker replica every few seconds; expires when the worker stops.</summary>
    public static string WorkerHeartbeat(string instanceId) => $"worker:{instanceId}";

    /// <summary>Sorted set of worker instances scored by when their heartbeat expires (unix ms): who is alive, without SCAN.</summary>
    public const string Workers = "workers";

    /// <summary>A job's record (JSON string with a TTL).</summary>
    public static string Job(string jobId) => $"job:{jobId}";

    /// <summary>Maps a client's idempotency key to the job it created.</summary>
    public static string Idempotency(string owner, string key) => $"idem:{owner}:{key}";

    /// <summary>Sorted set of job ids not yet finished, scored by deadline (unix ms): what the gateways' deadline sweeper expires.</summary>
    public const string JobDeadlines = "jobs:deadlines";

    /// <summary>
    /// Sorted set of an account's jobs not yet finished, scored by deadline (unix ms): the count its concurrency limit
    /// checks. A job leaves it when it becomes terminal; entries past their deadline are dropped when counting.
    /// </summary>
    public static string UnfinishedJobs(string owner) => UnfinishedJobsPrefix + owner;

    /// <summary>What <see cref="UnfinishedJobs"/> names start with (the job store's scripts build them from it).</summary>
    public const string UnfinishedJobsPrefix = "limits:unfinished:";

    /// <summary>Hash of an account's token bucket (tokens, at: unix ms of the last refill): its jobs-per-second limit.</summary>
    public static string JobRate(string owner) => $"limits:rate:{owner}";

    /// <summary>Set of who follows a job not yet finished: hub connections (<c>c:</c>…) and waiting gateways (<c>w:</c>…).</summary>
    public static string JobFollowers(string jobId) => $"job:{jobId}:followers";

    /// <summary>
    /// Sorted set of final states stored but not yet pushed to the hub connections following them (member
    /// <c>id|conn,conn…</c>, scored by when they were stored, unix ms): the storing process removes its entries once it
    /// pushed them; the gateways' push recovery pushes what a process that died in between left here.
    /// </summary>
    public const string PushesOwed = "jobs:pushes:owed";

    /// <summary>
    /// Pub/sub channel of one gateway process's HTTP requests waiting for jobs (<c>?wait=</c>, predict, OIP infer): the
    /// job store publishes a followed job's new states there. Hub connections get theirs through SignalR's backplane.
    /// </summary>
    public static string WaiterChannel(string waiterId) => WaiterChannelPrefix + waiterId;

    /// <summary>What <see cref="WaiterChannel"/> names start with (the job store's scripts build them from it).</summary>
    public const string WaiterChannelPrefix = "jobs:updates:";

    /// <summary>Pub/sub channel of commands to one worker replica ("drain": stop consuming, finish, exit 0).</summary>
    public static string WorkerCommand(string instanceId) => $"worker:{instanceId}:command";

    /// <summary>
    /// Pub/sub channel of revoked API keys (the hex SHA-256 of each): every gateway drops the key from its in-memory cache
    /// at once, so a revoked key stops working on every replica within moments.
    /// </summary>
    public const string RevokedApiKeys = "accounts:keys:revoked";

    /// <summary>Pub/sub channel of accounts whose limits changed (the account id): every gateway reads them again.</summary>
    public const string ChangedAccounts = "accounts:changed";

    /// <summary>
    /// Stream of usage events: the job store's terminal transition appends one per job in the same script (so exactly
    /// once), the gateways' ledger writers copy them into PostgreSQL, then acknowledge and delete them.
    /// </summary>
    public const string UsageEvents = "usage:events";

    /// <summary>Set of model names ModelSync has seen in the bucket.</summary>
    public const string Models = "models";

    /// <summary>Hash version → JSON <see cref="Models.ModelVersionState"/>: ModelSync's verdict on each published version.</summary>
    public static string ModelVersions(string model) => $"model:{model}:versions";

    /// <summary>Hash version → the manifest (model.json) of each valid version; what gateways learn models from.</summary>
    public static string ModelManifests(string model) => $"model:{model}:manifests";

    /// <summary>Set by ModelSync when a pass over the bucket completes (Unix ms): until then the model list is not known.</summary>
    public const string ModelsSynced = "models:synced";

    /// <summary>The version workers should serve (string integer); workers load it at start.</summary>
    public static string ModelDesired(string model) => $"model:{model}:desired";

    /// <summary>A version an operator (or a rollback) fixed as desired; absent means "latest valid".</summary>
    public static string ModelPinned(string model) => $"model:{model}:pinned";

    /// <summary>JSON <see cref="Models.ModelRolloutState"/>: the current or last rollout of a model.</summary>
    public static string ModelRollout(string model) => $"model:{model}:rollout";

    /// <summary>List of JSON <see cref="Models.ModelRolloutState"/>: finished rollouts of a model, newest first (last 20).</summary>
    public static string ModelRolloutHistory(string model) => $"model:{model}:rollouts";
}
