using System.Text.Json.Serialization;

namespace Contracts.Jobs;

/// <summary>Where a job is in its life. The last four are terminal: a terminal job never changes again.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("succeeded")] Succeeded,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("expired")] Expired,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

public static class JobStatusExtensions
{
    public static bool IsTerminal(this JobStatus status) => status >= JobStatus.Succeeded;

    public static string ToWire(this JobStatus status) => status switch
    {
        JobStatus.Queued => "queued",
        JobStatus.Running => "running",
        JobStatus.Succeeded => "succeeded",
        JobStatus.Failed => "failed",
        JobStatus.Expired => "expired",
        _ => "cancelled",
    };
}
