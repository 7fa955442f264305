using Contracts;
using Contracts.Jobs;
using StackExchange.Redis;

namespace ServiceDefaults.Jobs;

/// <summary>The result of a state change: whether it applied, and the record as stored afterwards.</summary>
public readonly record struct JobTransition(bool Applied, JobRecord Record);

/// <summary>
/// Job records in Redis. Every change is one Lua script call that refuses to touch a terminal
/// record and publishes the new state on <see cref="RedisKeys.JobUpdatesChannel"/> in the same
/// step, so a stored result and its notice can never disagree — and each costs one round trip.
/// </summary>
public sealed class JobStore(IConnectionMultiplexer redis)
{
    // KEYS[1] job key, KEYS[2] idempotency key or '', KEYS[3] deadline set; ARGV[1] record json, ARGV[2] ttl ms, ARGV[3] deadline
    // (unix ms, or '' for none), ARGV[4] job id. No notice: nobody follows a job before it exists.
    private const string CreateScript = """
        if KEYS[2] ~= '' then
          local existing = redis.call('GET', KEYS[2])
          if existing then
            local rec = redis.call('GET', 'job:' .. existing)
            if rec then return {0, rec} end
          end
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        if KEYS[2] ~= '' then redis.call('SET', KEYS[2], string.sub(KEYS[1], 5), 'PX', ARGV[2]) end
        if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4]) end
        return {1, ARGV[1]}
        """;

    // KEYS[1] job key, KEYS[2] deadline set; ARGV[1] record json, ARGV[2] channel, ARGV[3] job id. Never overwrites a
    // terminal record; a job that becomes terminal leaves the deadline set, so the set holds only unfinished jobs.
    private const string TransitionScript = """
        local cur = redis.call('GET', KEYS[1])
        if not cur then return {0, false} end
        local st = string.match(cur, '"status":"(%a+)"')
        if st == 'succeeded' or st == 'failed' or st == 'expired' or st == 'cancelled' then return {0, cur} end
        redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
        redis.call('PUBLISH', ARGV[2], ARGV[1])
        local nx = string.match(ARGV[1], '"status":"(%a+)"')
        if nx == 'succeeded' or nx == 'failed' or nx == 'expired' or nx == 'cancelled' then redis.call('ZREM', KEYS[2], ARGV[3]) end
        return {1, ARGV[1]}
        """;

    // The same step as TransitionScript for many jobs in one call (a worker's batch): KEYS[1..n] job keys, KEYS[n + 1] the
    // deadline set; ARGV[1] channel, ARGV[i + 1] the record for KEYS[i]. Returns 1 per job whose record was stored, 0 where
    // it was terminal or unknown. Keep the per-job rule in step with TransitionScript.
    private const string TransitionManyScript = """
        local deadlines = KEYS[#KEYS]
        local applied = {}
        for i = 1, #KEYS - 1 do
          local key = KEYS[i]
          applied[i] = 0
          local cur = redis.call('GET', key)
          if cur then
            local st = string.match(cur, '"status":"(%a+)"')
            if not (st == 'succeeded' or st == 'failed' or st == 'expired' or st == 'cancelled') then
              redis.call('SET', key, ARGV[i + 1], 'KEEPTTL')
              redis.call('PUBLISH', ARGV[1], ARGV[i + 1])
              local nx = string.match(ARGV[i + 1], '"status":"(%a+)"')
              if nx == 'succeeded' or nx == 'failed' or nx == 'expired' or nx == 'cancelled' then
                redis.call('ZREM', deadlines, string.sub(key, 5))
              end
              applied[i] = 1
            end
          end
        end
        return applied
        """;

    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// Stores a new queued job and enters its deadline in <see cref="RedisKeys.JobDeadlines"/> (same round trip); with an
    /// idempotency key already used, returns that job instead (Applied = false).
    /// </summary>
    public async Task<JobTransition> CreateAsync(JobRecord record, TimeSpan ttl, string? idempotencyKey)
    {
        var idem = idempotencyKey is null ? "" : RedisKeys.Idempotency(record.Owner ?? "anonymous", idempotencyKey);
        // Scored no later than the record's own expiry, so the sweeper always clears the entry of a job that outlives its record.
        RedisValue deadline = record.Deadline is { } d
            ? Math.Min(d.ToUnixTimeMilliseconds(), record.AcceptedAt.ToUnixTimeMilliseconds() + (long)ttl.TotalMilliseconds)
            : "";
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(CreateScript,
            [RedisKeys.Job(record.Id), idem, RedisKeys.JobDeadlines],
            [JobJson.Serialize(record), (long)ttl.TotalMilliseconds, deadline, record.Id]))!;
        return new JobTransition((int)result[0] == 1, JobJson.Deserialize((string)result[1]!));
    }

    /// <summary>Moves a job to <paramref name="next"/> unless it is already terminal or unknown.</summary>
    public async Task<JobTransition?> TransitionAsync(JobRecord next)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(TransitionScript,
            [RedisKeys.Job(next.Id), RedisKeys.JobDeadlines],
            [JobJson.Serialize(next), RedisKeys.JobUpdatesChannel, next.Id]))!;
        if (result[1].IsNull)
        {
            return null;
        }
        return new JobTransition((int)result[0] == 1, JobJson.Deserialize((string)result[1]!));
    }

    /// <summary>
    /// <see cref="TransitionAsync"/> for several jobs in one round trip (a worker's batch): each record is stored and
    /// published unless its job is already terminal or unknown. Returns, per record, whether it was stored.
    /// </summary>
    public async Task<bool[]> TransitionManyAsync(IReadOnlyList<JobRecord> next)
    {
        if (next.Count == 0)
        {
            return [];
        }
        var keys = new RedisKey[next.Count + 1];
        var args = new RedisValue[next.Count + 1];
        keys[next.Count] = RedisKeys.JobDeadlines;
        args[0] = RedisKeys.JobUpdatesChannel;
        for (var i = 0; i < next.Count; i++)
        {
            keys[i] = RedisKeys.Job(next[i].Id);
            args[i + 1] = JobJson.Serialize(next[i]);
        }
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(TransitionManyScript, keys, args))!;
        var applied = new bool[result.Length];
        for (var i = 0; i < result.Length; i++)
        {
            applied[i] = (int)result[i] == 1;
        }
        return applied;
    }

    /// <summary>Removes a record whose job never reached the broker (the client was never given its id), in one round trip.</summary>
    public Task DeleteAsync(string id)
    {
        var batch = Db.CreateBatch();
        var deleted = batch.KeyDeleteAsync(RedisKeys.Job(id));
        var unlisted = batch.SortedSetRemoveAsync(RedisKeys.JobDeadlines, id);
        batch.Execute();
        return Task.WhenAll(deleted, unlisted);
    }

    /// <summary>Up to <paramref name="max"/> ids whose deadline entry is due at <paramref name="now"/>.</summary>
    public async Task<string[]> DueDeadlinesAsync(DateTimeOffset now, int max)
    {
        var ids = await Db.SortedSetRangeByScoreAsync(RedisKeys.JobDeadlines, double.NegativeInfinity, now.ToUnixTimeMilliseconds(), take: max);
        return Array.ConvertAll(ids, v => (string)v!);
    }

    /// <summary>Drops ids from the deadline set (jobs already finished, or whose records are gone).</summary>
    public Task UnlistDeadlinesAsync(IReadOnlyList<string> ids) =>
        ids.Count == 0 ? Task.CompletedTask : Db.SortedSetRemoveAsync(RedisKeys.JobDeadlines, ids.Select(i => (RedisValue)i).ToArray());

    public async Task<JobRecord?> GetAsync(string id)
    {
        var value = await Db.StringGetAsync(RedisKeys.Job(id));
        return value.IsNull ? null : JobJson.Deserialize(value!);
    }

    /// <summary>Reads several records in one round trip (null where a job is unknown or expired from Redis).</summary>
    public async Task<JobRecord?[]> GetManyAsync(IReadOnlyList<string> ids)
    {
        if (ids.Count == 0)
        {
            return [];
        }
        var keys = new RedisKey[ids.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = RedisKeys.Job(ids[i]);
        }
        var values = await Db.StringGetAsync(keys);
        var records = new JobRecord?[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            records[i] = values[i].IsNull ? null : JobJson.Deserialize(values[i]!);
        }
        return records;
    }
}
