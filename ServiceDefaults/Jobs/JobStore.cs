using Contracts;
using Contracts.Jobs;
using ServiceDefaults.Push;
using StackExchange.Redis;

namespace ServiceDefaults.Jobs;

/// <summary>The result of a state change: whether it applied, and the record as stored afterwards.</summary>
public readonly record struct JobTransition(bool Applied, JobRecord Record);

/// <summary>
/// An account's limits as the job store applies them when a job is created: a token bucket of <paramref name="JobsPerSecond"/>
/// refilled continuously up to <paramref name="Burst"/> jobs, and at most <paramref name="MaxUnfinished"/> jobs not yet
/// finished. Null means no such limit.
/// </summary>
public readonly record struct JobLimits(double? JobsPerSecond, int? Burst, int? MaxUnfinished)
{
    public bool IsUnlimited => JobsPerSecond is null && MaxUnfinished is null;

    /// <summary>The bucket's size: <see cref="Burst"/>, by default one second's worth of jobs (at least 1); null without a rate.</summary>
    public int? EffectiveBurst => JobsPerSecond is { } rate ? Burst ?? Math.Max(1, (int)Math.Ceiling(rate)) : null;
}

/// <summary>A job refused by its owner's <see cref="JobLimits"/>: which one (<c>rate</c> or <c>concurrency</c>), and when to retry.</summary>
public sealed class JobLimitExceededException(string limit, TimeSpan retryAfter)
    : Exception($"the account's {limit} limit is reached")
{
    public const string Rate = "rate";
    public const string Concurrency = "concurrency";

    public string Limit { get; } = limit;

    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Job records in Redis, and who follows each job: a set beside the record holding hub connections (<c>c:</c> + connection
/// id) and gateways with HTTP requests waiting (<c>w:</c> + the gateway's waiter id). Every change is one Lua script call
/// that refuses to touch a terminal record and, in the same step, reads the followers when the status moved: the state is
/// pushed to those connections through SignalR's Redis backplane (<see cref="JobPush"/>), and a final state is published
/// to the waiting gateways' channels (the states before it are of no use to a waiting HTTP request). Following a job and
/// reading it are one step too (<see cref="FollowAsync"/>), so each state after the one a follower read reaches it
/// exactly once, whichever replica stores it.
/// The push to hub connections happens after the script, from the process that ran it; a final state is therefore
/// entered as owed in the same script (<see cref="RedisKeys.PushesOwed"/>) and paid once pushed, so a process killed in
/// between (a worker's <c>kill -9</c> after storing its batch) leaves it for <see cref="PushOwedAsync"/> instead of losing it.
/// </summary>
public sealed class JobStore(IConnectionMultiplexer redis, JobPush push)
{
    // Shared by the scripts: whether a record (JSON) is terminal, from its status field.
    private const string Terminal = """
        local function terminal(rec)
          local st = string.match(rec, '"status":"(%a+)"')
          return st == 'succeeded' or st == 'failed' or st == 'expired' or st == 'cancelled', st
        end
        """;

    // A terminal job leaves its owner's set of unfinished jobs (the concurrency limit's count). The owner is read from the
    // stored record: the first "owner" member, which the serializer writes before any output.
    private const string Unfinished = $$"""
        local function unfinished_done(rec, id)
          local owner = string.match(rec, '"owner":"([^"]+)"')
          if owner then redis.call('ZREM', '{{RedisKeys.UnfinishedJobsPrefix}}' .. owner, id) end
        end
        """;

    // After a record changed status: publish it to the waiting gateways when it is terminal (an HTTP request waits for
    // nothing else), return the connections to push it to; a terminal record has no followers left. KEYS: the followers
    // set; rec: the new record; done: whether it is terminal.
    private const string Followers = $$"""
        local function followers(key, rec, done)
          local conns = {}
          for _, m in ipairs(redis.call('SMEMBERS', key)) do
            local kind = string.sub(m, 1, 2)
            if kind == 'c:' then conns[#conns + 1] = string.sub(m, 3)
            elseif kind == 'w:' and done then redis.call('PUBLISH', '{{RedisKeys.WaiterChannelPrefix}}' .. string.sub(m, 3), rec) end
          end
          if done then redis.call('DEL', key) end
          return conns
        end

        -- A final state to push to hub connections is owed until the pusher says it pushed it: entered in the owed set
        -- (member "id|conn,conn", scored by Redis's clock), from which the gateways' push recovery takes what a process
        -- that died between this script and its push left behind. owed: the set's key.
        local function owe(owed, id, conns)
          local t = redis.call('TIME')
          redis.call('ZADD', owed, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), id .. '|' .. table.concat(conns, ','))
        end
        """;

    // KEYS[1] job key, KEYS[2] idempotency key or '', KEYS[3] deadline set, KEYS[4] followers set, KEYS[5] the owner's
    // unfinished jobs, KEYS[6] the owner's token bucket; ARGV[1] record json, ARGV[2] ttl ms, ARGV[3] deadline (unix ms, or
    // '' for none), ARGV[4] job id, ARGV[5] the first follower or '', ARGV[6] jobs per second or '', ARGV[7] burst, ARGV[8]
    // max unfinished or '', ARGV[9] when the job stops counting as unfinished at the latest (its deadline, else its expiry). Returns {1, record} when created, {0, record} for an idempotency key already used (no limit is charged), or
    // {2, limit, retry ms} when a limit refuses it. The limits use Redis's clock, so every gateway replica shares them.
    private const string CreateScript = """
        if KEYS[2] ~= '' then
          local existing = redis.call('GET', KEYS[2])
          if existing then
            local rec = redis.call('GET', 'job:' .. existing)
            if rec then return {0, rec} end
          end
        end
        local tokens, rate, burst, now
        if ARGV[6] ~= '' or ARGV[8] ~= '' then
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        if ARGV[8] ~= '' then
          redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
          if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[8]) then return {2, 'concurrency', 1000} end
        end
        if ARGV[6] ~= '' then
          rate = tonumber(ARGV[6])
          burst = tonumber(ARGV[7])
          local b = redis.call('HMGET', KEYS[6], 'tokens', 'at')
          tokens = tonumber(b[1]) or burst
          local at = tonumber(b[2]) or now
          if now > at then tokens = math.min(burst, tokens + (now - at) * rate / 1000) end
          if tokens < 1 then return {2, 'rate', math.ceil((1 - tokens) * 1000 / rate)} end
          redis.call('HSET', KEYS[6], 'tokens', tostring(tokens - 1), 'at', now)
          redis.call('PEXPIRE', KEYS[6], math.ceil(burst * 1000 / rate) + 1000)
        end
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
        if KEYS[2] ~= '' then redis.call('SET', KEYS[2], string.sub(KEYS[1], 5), 'PX', ARGV[2]) end
        if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4]) end
        if ARGV[8] ~= '' then
          redis.call('ZADD', KEYS[5], ARGV[9], ARGV[4])
          redis.call('PEXPIRE', KEYS[5], ARGV[2])
        end
        if ARGV[5] ~= '' then
          redis.call('SADD', KEYS[4], ARGV[5])
          redis.call('PEXPIRE', KEYS[4], ARGV[2])
        end
        return {1, ARGV[1]}
        """;

    // KEYS[1] job key, KEYS[2] deadline set, KEYS[3] followers set, KEYS[4] the owner's unfinished jobs; ARGV[1] job id.
    // Deletes the job unless it is terminal; returns the terminal record, else nil.
    private const string DeleteScript = Terminal + "\n" + """
        local cur = redis.call('GET', KEYS[1])
        if cur and terminal(cur) then return cur end
        redis.call('DEL', KEYS[1], KEYS[3])
        redis.call('ZREM', KEYS[2], ARGV[1])
        redis.call('ZREM', KEYS[4], ARGV[1])
        return false
        """;

    // KEYS[1] job key, KEYS[2] followers set; ARGV[1] the follower. Returns the record (nil when unknown); a job not yet
    // finished gains the follower, whose set lives as long as the record.
    private const string FollowScript = Terminal + "\n" + """
        local cur = redis.call('GET', KEYS[1])
        if not cur then return false end
        if not terminal(cur) then
          redis.call('SADD', KEYS[2], ARGV[1])
          local ttl = redis.call('PTTL', KEYS[1])
          if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
        end
        return cur
        """;

    // KEYS[1] job key, KEYS[2] deadline set, KEYS[3] followers set, KEYS[4] usage stream, KEYS[5] the owed pushes; ARGV[1]
    // record json, ARGV[2] job id, ARGV[3] its usage event ('' unless terminal). Never overwrites a terminal record; a job
    // that becomes terminal leaves the deadline set (so the set holds only unfinished jobs) and its owner's unfinished set,
    // appends its usage event (once, as a record becomes terminal once) and owes its push to the connections following it.
    // Returns {applied, record, connections to push to...}: none when the status did not move (a retry's new attempt).
    private const string TransitionScript = Terminal + "\n" + Followers + "\n" + Unfinished + "\n" + $$"""
        local cur = redis.call('GET', KEYS[1])
        if not cur then return {0, false} end
        local was_done, st = terminal(cur)
        if was_done then return {0, cur} end
        redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
        local done, nx = terminal(ARGV[1])
        if done then
          redis.call('ZREM', KEYS[2], ARGV[2])
          unfinished_done(cur, ARGV[2])
          if ARGV[3] ~= '' then redis.call('XADD', KEYS[4], '*', '{{UsageEvent.Field}}', ARGV[3]) end
        end
        local result = {1, ARGV[1]}
        if nx ~= st then
          local conns = followers(KEYS[3], ARGV[1], done)
          if done and #conns > 0 then owe(KEYS[5], ARGV[2], conns) end
          for _, c in ipairs(conns) do result[#result + 1] = c end
        end
        return result
        """;

    // The same step as TransitionScript for many jobs in one call (a worker's batch): KEYS[2i - 1] job key and KEYS[2i]
    // its followers set for i = 1..n, KEYS[2n + 1] the deadline set, KEYS[2n + 2] the usage stream, KEYS[2n + 3] the owed
    // pushes; ARGV[i] the record for
    // job i, ARGV[n + i] its usage event ('' unless terminal). Returns per job {0} where it was terminal or unknown, else
    // {1, connections to push to...}. Keep the per-job rule in step with TransitionScript.
    private const string TransitionManyScript = Terminal + "\n" + Followers + "\n" + Unfinished + "\n" + $$"""
        local n = #ARGV / 2
        local deadlines = KEYS[2 * n + 1]
        local results = {}
        for i = 1, n do
          local key = KEYS[2 * i - 1]
          local result = {0}
          local cur = redis.call('GET', key)
          if cur then
            local was_done, st = terminal(cur)
            if not was_done then
              redis.call('SET', key, ARGV[i], 'KEEPTTL')
              local done, nx = terminal(ARGV[i])
              if done then
                redis.call('ZREM', deadlines, string.sub(key, 5))
                unfinished_done(cur, string.sub(key, 5))
                if ARGV[n + i] ~= '' then redis.call('XADD', KEYS[2 * n + 2], '*', '{{UsageEvent.Field}}', ARGV[n + i]) end
              end
              result[1] = 1
              if nx ~= st then
                local conns = followers(KEYS[2 * i], ARGV[i], done)
                if done and #conns > 0 then owe(KEYS[2 * n + 3], string.sub(key, 5), conns) end
                for _, c in ipairs(conns) do result[#result + 1] = c end
              end
            end
          end
          results[i] = result
        end
        return results
        """;

    // KEYS[1] the owed pushes; ARGV[1] how old an entry must be (ms, by Redis's clock), ARGV[2] how many to take at most.
    // Takes (removes and returns) the entries older than that: whoever takes one pushes it, so replicas never both do.
    private const string ClaimOwedScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
        if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
        return due
        """;

    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// Stores a new queued job and enters its deadline in <see cref="RedisKeys.JobDeadlines"/> (same round trip); with an
    /// idempotency key already used, returns that job instead (Applied = false). Its owner's <paramref name="limits"/> are
    /// checked and charged in the same step; a job they refuse is not stored (<see cref="JobLimitExceededException"/>).
    /// </summary>
    /// <param name="follower">Who follows the job from the start (<see cref="ConnectionFollower"/>, <see cref="WaiterFollower"/>).</param>
    public async Task<JobTransition> CreateAsync(JobRecord record, TimeSpan ttl, string? idempotencyKey, string? follower = null, JobLimits limits = default)
    {
        var owner = record.Owner ?? "anonymous";
        var idem = idempotencyKey is null ? "" : RedisKeys.Idempotency(owner, idempotencyKey);
        // Scored no later than the record's own expiry, so the sweeper always clears the entry of a job that outlives its record.
        var expiry = record.AcceptedAt.ToUnixTimeMilliseconds() + (long)ttl.TotalMilliseconds;
        long? deadline = record.Deadline is { } d ? Math.Min(d.ToUnixTimeMilliseconds(), expiry) : null;
        RedisValue rate = limits.JobsPerSecond is { } perSecond ? perSecond : "";
        RedisValue maxUnfinished = limits.MaxUnfinished is { } max ? max : "";
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(CreateScript,
            [RedisKeys.Job(record.Id), idem, RedisKeys.JobDeadlines, RedisKeys.JobFollowers(record.Id), RedisKeys.UnfinishedJobs(owner), RedisKeys.JobRate(owner)],
            [JobJson.Serialize(record), (long)ttl.TotalMilliseconds, deadline is { } due ? due : "", record.Id, follower ?? "", rate,
                limits.EffectiveBurst ?? 0, maxUnfinished, deadline ?? expiry]))!;
        return (int)result[0] switch
        {
            2 => throw new JobLimitExceededException((string)result[1]!, TimeSpan.FromMilliseconds((long)result[2])),
            var applied => new JobTransition(applied == 1, JobJson.Deserialize((string)result[1]!)),
        };
    }

    /// <summary>The follower entry of a hub connection.</summary>
    public static string ConnectionFollower(string connectionId) => "c:" + connectionId;

    /// <summary>The follower entry of a gateway whose HTTP requests wait: its updates arrive on <see cref="RedisKeys.WaiterChannel"/>.</summary>
    public static string WaiterFollower(string waiterId) => "w:" + waiterId;

    /// <summary>
    /// Makes <paramref name="follower"/> follow a job and returns the job's current state (null when unknown or expired),
    /// in one step: every later state reaches the follower, and none it has already read.
    /// </summary>
    public async Task<JobRecord?> FollowAsync(string id, string follower)
    {
        var value = await Db.ScriptEvaluateAsync(FollowScript, [RedisKeys.Job(id), RedisKeys.JobFollowers(id)], [follower]);
        return value.IsNull ? null : JobJson.Deserialize((string)value!);
    }

    /// <summary>Moves a job to <paramref name="next"/> unless it is already terminal or unknown, and pushes it to its followers.</summary>
    public async Task<JobTransition?> TransitionAsync(JobRecord next)
    {
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(TransitionScript,
            [RedisKeys.Job(next.Id), RedisKeys.JobDeadlines, RedisKeys.JobFollowers(next.Id), RedisKeys.UsageEvents, RedisKeys.PushesOwed],
            [JobJson.Serialize(next), next.Id, UsageEvent.Serialize(next)]))!;
        if (result[1].IsNull)
        {
            return null;
        }
        var transition = new JobTransition((int)result[0] == 1, JobJson.Deserialize((string)result[1]!));
        if (result.Length > 2)
        {
            var connections = Connections(result, 2);
            if (await push.PushAsync(transition.Record, connections) && transition.Record.IsTerminal)
            {
                Paid([OwedMember(next.Id, connections)]);
            }
        }
        return transition;
    }

    /// <summary>
    /// <see cref="TransitionAsync"/> for several jobs in one round trip (a worker's batch): each record is stored and
    /// pushed unless its job is already terminal or unknown. Returns, per record, whether it was stored.
    /// </summary>
    public async Task<bool[]> TransitionManyAsync(IReadOnlyList<JobRecord> next)
    {
        if (next.Count == 0)
        {
            return [];
        }
        var keys = new RedisKey[2 * next.Count + 3];
        var args = new RedisValue[2 * next.Count];
        keys[^3] = RedisKeys.JobDeadlines;
        keys[^2] = RedisKeys.UsageEvents;
        keys[^1] = RedisKeys.PushesOwed;
        for (var i = 0; i < next.Count; i++)
        {
            keys[2 * i] = RedisKeys.Job(next[i].Id);
            keys[2 * i + 1] = RedisKeys.JobFollowers(next[i].Id);
            args[i] = JobJson.Serialize(next[i]);
            args[next.Count + i] = UsageEvent.Serialize(next[i]);
        }
        var result = (RedisResult[])(await Db.ScriptEvaluateAsync(TransitionManyScript, keys, args))!;
        var applied = new bool[result.Length];
        List<(int Job, string[] Connections, Task<bool> Pushed)>? pushes = null;
        for (var i = 0; i < result.Length; i++)
        {
            var job = (RedisResult[])result[i]!;
            applied[i] = (int)job[0] == 1;
            if (job.Length > 1)
            {
                var connections = Connections(job, 1);
                (pushes ??= []).Add((i, connections, push.PushAsync(next[i], connections)));
            }
        }
        if (pushes is not null)
        {
            await Task.WhenAll(pushes.Select(p => p.Pushed));
            var paid = pushes.Where(p => p.Pushed.Result && next[p.Job].IsTerminal).Select(p => OwedMember(next[p.Job].Id, p.Connections)).ToList();
            if (paid.Count > 0)
            {
                Paid(paid);
            }
        }
        return applied;
    }

    /// <summary>
    /// The owed set's entry for a final state owed to <paramref name="connections"/>, as the scripts write it (the
    /// connections in the order the script returned them).
    /// </summary>
    private static string OwedMember(string id, IReadOnlyList<string> connections) => id + "|" + string.Join(',', connections);

    /// <summary>
    /// Tells Redis the final states were pushed: their entries leave the owed set. Not awaited (one command per batch,
    /// after the pushes on the same connection): should it be lost, push recovery pushes the state a second time.
    /// </summary>
    private void Paid(List<string> members) =>
        Db.SortedSetRemove(RedisKeys.PushesOwed, [.. members.Select(m => (RedisValue)m)], CommandFlags.FireAndForget);

    /// <summary>
    /// Takes up to <paramref name="max"/> final states owed for longer than <paramref name="olderThan"/> — stored, but the
    /// process that stored them died (or lost Redis) before pushing them — and pushes them to the connections that followed
    /// each job. A state whose push fails again is owed again. Returns how many entries it took.
    /// </summary>
    public async Task<int> PushOwedAsync(TimeSpan olderThan, int max)
    {
        var due = (RedisResult[])(await Db.ScriptEvaluateAsync(ClaimOwedScript, [RedisKeys.PushesOwed],
            [(long)olderThan.TotalMilliseconds, max]))!;
        if (due.Length == 0)
        {
            return 0;
        }
        // Each member is "id|conn,conn" as the scripts wrote it; one that fails goes back unchanged.
        var members = Array.ConvertAll(due, d => (string)d!);
        var owed = Array.ConvertAll(members, m => m.Split('|', 2));
        var records = await GetManyAsync(Array.ConvertAll(owed, o => o[0]));
        var pushes = new List<(string Member, Task<bool> Pushed)>(owed.Length);
        for (var i = 0; i < owed.Length; i++)
        {
            if (records[i] is { IsTerminal: true } record)
            {
                pushes.Add((members[i], push.PushAsync(record, owed[i][1].Split(','))));
            }
        }
        await Task.WhenAll(pushes.Select(p => p.Pushed));
        var failed = pushes.Where(p => !p.Pushed.Result).Select(p => (RedisValue)p.Member).ToArray();
        if (failed.Length > 0)
        {
            // Overdue at once: the next pass tries again.
            await Db.SortedSetAddAsync(RedisKeys.PushesOwed, [.. failed.Select(m => new SortedSetEntry(m, 0))]);
        }
        return due.Length;
    }

    private static string[] Connections(RedisResult[] result, int from)
    {
        var connections = new string[result.Length - from];
        for (var i = 0; i < connections.Length; i++)
        {
            connections[i] = (string)result[from + i]!;
        }
        return connections;
    }

    /// <summary>
    /// Removes a record whose job the broker did not confirm (the client is not given its id), in one round trip; it no
    /// longer counts against its owner's concurrency limit. A job that already finished is kept and returned instead: the
    /// deadline sweeper may expire a job while its publish waits, and a worker may run a message the broker took without
    /// confirming it. Such a job has its usage event, so it is the client's, told as it ended.
    /// </summary>
    public async Task<JobRecord?> DeleteUnlessFinishedAsync(string id, string? owner)
    {
        var value = await Db.ScriptEvaluateAsync(DeleteScript,
            [RedisKeys.Job(id), RedisKeys.JobDeadlines, RedisKeys.JobFollowers(id), RedisKeys.UnfinishedJobs(owner ?? "anonymous")], [id]);
        return value.IsNull ? null : JobJson.Deserialize((string)value!);
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
