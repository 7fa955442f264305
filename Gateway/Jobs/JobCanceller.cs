using Contracts.Jobs;
using ServiceDefaults.Jobs;

namespace Gateway.Jobs;

/// <summary>Cancels a job that has not finished; a worker that is already running it will find its result refused.</summary>
public sealed class JobCanceller(JobStore store, TimeProvider time)
{
    /// <summary>
    /// The record afterwards (null if unknown, or another account's: as unknown to <paramref name="owner"/>) and whether this
    /// call cancelled it.
    /// </summary>
    public async Task<(JobRecord? Record, bool Cancelled)> CancelAsync(string id, string? owner)
    {
        var current = JobOwnership.Visible(await store.GetAsync(id), owner);
        if (current is null || current.IsTerminal)
        {
            return (current, false);
        }
        var next = current with
        {
            Status = JobStatus.Cancelled,
            FinishedAt = time.GetUtcNow(),
            Error = new JobError(JobErrorCodes.Cancelled, "The job was cancelled by the client."),
        };
        var result = await store.TransitionAsync(next);
        return result is { } t ? (t.Record, t.Applied) : (null, false);
    }
}

/// <summary>A job belongs to the account that submitted it: to any other caller it does not exist (404 job_not_found).</summary>
public static class JobOwnership
{
    public static JobRecord? Visible(JobRecord? record, string? owner) =>
        record is not null && string.Equals(record.Owner, owner, StringComparison.Ordinal) ? record : null;
}

public static class JobIds
{
    /// <summary>Job ids are 32 lower-case hex digits (a GUID without dashes).</summary>
    public static bool IsValid(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);
}
