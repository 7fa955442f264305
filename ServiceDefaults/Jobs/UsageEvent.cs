using System.Text.Json;
using Contracts.Jobs;

namespace ServiceDefaults.Jobs;

/// <summary>
/// What the usage ledger keeps of a finished job: one entry of <see cref="Contracts.RedisKeys.UsageEvents"/>, appended by
/// the job store's terminal transition and copied into PostgreSQL by the gateways' ledger writers (one row per job id).
/// </summary>
public sealed record UsageEvent(
    string JobId, string? Account, string Model, int? Version, string Status, string? ErrorCode, long? InputBytes,
    double? QueueMs, double? ComputeMs, int? BatchSize, int Attempts,
    DateTimeOffset AcceptedAt, DateTimeOffset? StartedAt, DateTimeOffset FinishedAt)
{
    /// <summary>The stream entry's one field.</summary>
    public const string Field = "e";

    /// <summary>The event of a record that is terminal, as JSON; "" for any other (the scripts append only non-empty ones).</summary>
    public static string Serialize(JobRecord record) => record.IsTerminal
        ? JsonSerializer.Serialize(new UsageEvent(
            record.Id, record.Owner, record.Model, record.Version, record.Status.ToWire(), record.Error?.Code, record.InputBytes,
            record.Timings?.QueueMs, record.Timings?.ComputeMs, record.Timings?.BatchSize, record.Attempts,
            record.AcceptedAt, record.StartedAt, record.FinishedAt ?? DateTimeOffset.UtcNow), JobJson.Options)
        : "";

    public static UsageEvent Deserialize(string json) =>
        JsonSerializer.Deserialize<UsageEvent>(json, JobJson.Options) ?? throw new JsonException("empty usage event");
}
