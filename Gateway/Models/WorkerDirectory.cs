using ServiceDefaults.Caching;
using StackExchange.Redis;

namespace Gateway.Models;

/// <summary>A live worker as its heartbeat describes it.</summary>
public sealed record WorkerHeartbeatInfo(string Instance, IReadOnlyList<(string Model, string Version)> Models, bool Ready, double MeanBatchSize, long Batches);

/// <summary>Reads the workers' heartbeats (which expire with the worker) from Redis.</summary>
public static class WorkerDirectory
{
    public static async Task<IReadOnlyList<WorkerHeartbeatInfo>> ReadAsync(IConnectionMultiplexer redis)
    {
        var result = new List<WorkerHeartbeatInfo>();
        foreach (var fields in await WorkerHeartbeats.ReadLiveAsync(redis.GetDatabase()))
        {
            var models = (fields.GetValueOrDefault("models") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(m => m.Split(':'))
                .Where(p => p.Length == 2)
                .Select(p => (p[0], p[1]))
                .ToList();
            result.Add(new WorkerHeartbeatInfo(
                fields["instance"]!,
                models,
                fields.GetValueOrDefault("ready") == "1",
                double.TryParse(fields.GetValueOrDefault("meanBatchSize"), System.Globalization.CultureInfo.InvariantCulture, out var mean) ? mean : 0,
                long.TryParse(fields.GetValueOrDefault("batches"), out var batches) ? batches : 0));
        }
        return result;
    }
}
