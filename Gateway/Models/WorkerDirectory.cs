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
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var db = redis.GetDatabase();
        var result = new List<WorkerHeartbeatInfo>();
        foreach (var key in server.Keys(pattern: RedisKeys.WorkerHeartbeatPattern, pageSize: 100))
        {
            var fields = (await db.HashGetAllAsync(key)).ToDictionary(e => (string)e.Name!, e => (string?)e.Value);
            var models = (fields.GetValueOrDefault("models") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(m => m.Split(':'))
                .Where(p => p.Length == 2)
                .Select(p => (p[0], p[1]))
                .ToList();
            result.Add(new WorkerHeartbeatInfo(
                fields.GetValueOrDefault("instance") ?? key.ToString(),
                models,
                fields.GetValueOrDefault("ready") == "1",
                double.TryParse(fields.GetValueOrDefault("meanBatchSize"), System.Globalization.CultureInfo.InvariantCulture, out var mean) ? mean : 0,
                long.TryParse(fields.GetValueOrDefault("batches"), out var batches) ? batches : 0));
        }
        return result;
    }
}
