// Reads the live workers' heartbeats without SCAN: SE.Redis 1.2.6 only scans synchronously (bounded by
// its sync timeout, which a loaded machine exceeds), and a SCAN walks every key in the database.
using Contracts;
using StackExchange.Redis;

namespace ServiceDefaults.Caching;

public static class WorkerHeartbeats
{
    /// <summary>How long a dead worker's entry stays in the registry before a live worker prunes it.</summary>
    private static readonly TimeSpan PruneAfter = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Writes one heartbeat: the worker's hash with a TTL, and its entry in the registry of live workers
    /// (scored by when the heartbeat expires) — pipelined, one network round trip.
    /// </summary>
    public static Task WriteAsync(IDatabase db, string instance, HashEntry[] fields, TimeSpan ttl)
    {
        var key = RedisKeys.WorkerHeartbeat(instance);
        var now = DateTimeOffset.UtcNow;
        return Task.WhenAll(
            db.HashSetAsync(key, fields),
            db.KeyExpireAsync(key, ttl),
            db.SortedSetAddAsync(RedisKeys.Workers, instance, (now + ttl).ToUnixTimeMilliseconds()),
            db.SortedSetRemoveRangeByScoreAsync(RedisKeys.Workers, double.NegativeInfinity, (now - PruneAfter).ToUnixTimeMilliseconds()));
    }

    public static Task RemoveAsync(IDatabase db, string instance) => Task.WhenAll(
        db.KeyDeleteAsync(RedisKeys.WorkerHeartbeat(instance)),
        db.SortedSetRemoveAsync(RedisKeys.Workers, instance));

    /// <summary>The fields of every worker whose heartbeat has not expired, ordered by instance.</summary>
    public static async Task<IReadOnlyList<IReadOnlyDictionary<string, string?>>> ReadLiveAsync(IDatabase db)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var instances = await db.SortedSetRangeByScoreAsync(RedisKeys.Workers, now, double.PositiveInfinity);
        var hashes = await Task.WhenAll(instances.Select(i => db.HashGetAllAsync(RedisKeys.WorkerHeartbeat((string)i!))));
        return [.. hashes
            .Where(h => h.Length > 0)
            .Select(h => (IReadOnlyDictionary<string, string?>)h.ToDictionary(e => (string)e.Name!, e => (string?)e.Value, StringComparer.Ordinal))
            .Where(f => f.ContainsKey("instance"))
            .OrderBy(f => f["instance"], StringComparer.Ordinal)];
    }
}
