using Contracts;
using StackExchange.Redis;

namespace Gateway.Models;

/// <summary>A live worker as its heartbeat describes it.</summary>
public sealed record WorkerHeartbeatInfo(string Instance, IReadOnlyList<(string Model, string Version)> Models, bool Ready, double MeanBatchSize, long Batches);

/// <summary>Reads the workers' heartbeats (which expire with the worker) from Redis.</summary>
public static class WorkerDirectory
{
    public static async Task<IReadOnlyList<WorkerHeartbeatInfo>> ReadAsync(IConnectionMultiplexer redis)
    {
        var db = redis.GetDatabase();
        var result = new List<WorkerHeartbeatInfo>();
        // The registry set, not a keyspace scan: the keyspace holds every job record.
        foreach (var key in await db.SetMembersAsync(RedisKeys.Workers))
        {
            var entries = await db.HashGetAllAsync((string)key!);
            if (entries.Length == 0)
            {
                continue; // expired: that worker is gone (ModelSync prunes the set)
            }
            var fields = entries.ToDictionary(e => (string)e.Name!, e => (string?)e.Value);
            var models = (fields.GetValueOrDefault("models") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(m => m.Split(':'))
                .Where(p => p.Length == 2)
                .Select(p => (p[0], p[1]))
                .ToList();
            result.Add(new WorkerHeartbeatInfo(
                fields.GetValueOrDefault("instance") ?? (string)key!,
                models,
                fields.GetValueOrDefault("ready") == "1",
                double.TryParse(fields.GetValueOrDefault("meanBatchSize"), System.Globalization.CultureInfo.InvariantCulture, out var mean) ? mean : 0,
                long.TryParse(fields.GetValueOrDefault("batches"), out var batches) ? batches : 0));
        }
        return result;
    }
}
