using Contracts.Jobs;
using Microsoft.Extensions.Options;
using ServiceDefaults.Jobs;
using ServiceDefaults.Telemetry;

namespace Gateway.Jobs;

/// <summary>Settings of the deadline sweeper, bound from "Gateway:DeadlineSweep".</summary>
public sealed class DeadlineSweepOptions
{
    public const string Section = "Gateway:DeadlineSweep";

    /// <summary>How often due deadlines are looked for: a job is told it expired at most this long after its deadline.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Jobs expired per Redis round trip.</summary>
    public int BatchSize { get; set; } = 500;
}

/// <summary>
/// Expires jobs whose deadline passed while they were queued or running — a worker that hangs, or a queue that never
/// drains, still ends every job and tells its client (<c>expired</c>, <c>deadline_exceeded</c>). Reads the due ids from
/// <see cref="Contracts.RedisKeys.JobDeadlines"/>. Every gateway replica sweeps: the transition refuses terminal records, so
/// a job is expired (and pushed) once however many replicas race for it; a worker still running it finds its result refused.
/// </summary>
public sealed partial class DeadlineSweeper(
    JobStore store, InferenceMetrics metrics, IOptions<DeadlineSweepOptions> options, TimeProvider time, ILogger<DeadlineSweeper> log)
    : PeriodicSweep(time, log)
{
    protected override string Name => "Deadline sweep";

    protected override TimeSpan Interval => options.Value.Interval;

    protected override int BatchSize => options.Value.BatchSize;

    protected override Task<int> PassAsync() => SweepAsync();

    /// <summary>One pass: expires what is due; returns how many ids it looked at.</summary>
    public async Task<int> SweepAsync()
    {
        var now = Time.GetUtcNow();
        var due = await store.DueDeadlinesAsync(now, options.Value.BatchSize);
        if (due.Length == 0)
        {
            return 0;
        }
        var records = await store.GetManyAsync(due);
        var settled = new List<string>(due.Length);
        var expiring = new List<(string Id, Task<JobTransition?> Transition)>();
        for (var i = 0; i < due.Length; i++)
        {
            var record = records[i];
            if (record is null || record.IsTerminal)
            {
                settled.Add(due[i]); // gone from Redis, or finished (its transition normally removes it already)
            }
            // Compared in whole milliseconds, as the set is scored: a job whose deadline is later in the same millisecond as
            // now is due too (else it would be dropped from the set below and never expire).
            else if (record.Deadline is { } deadline && deadline.ToUnixTimeMilliseconds() <= now.ToUnixTimeMilliseconds())
            {
                expiring.Add((due[i], store.TransitionAsync(record with
                {
                    Status = JobStatus.Expired,
                    FinishedAt = now,
                    Error = new JobError(JobErrorCodes.DeadlineExceeded, record.Status == JobStatus.Running
                        ? $"The job was still running at its deadline ({deadline:O})."
                        : $"The job was not started before its deadline ({deadline:O})."),
                    Timings = new JobTimings(
                        ((record.StartedAt ?? now) - record.AcceptedAt).TotalMilliseconds, null, (now - record.AcceptedAt).TotalMilliseconds, null),
                })));
            }
            else
            {
                settled.Add(due[i]); // scored at the record's expiry, before its deadline: the record is about to go anyway
            }
        }
        await Task.WhenAll(expiring.Select(e => e.Transition));
        foreach (var (id, transition) in expiring)
        {
            if (transition.Result is { Applied: true, Record: var expired })
            {
                // The transition took the id out of the set with the same script.
                metrics.JobFailed(expired.Model, expired.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", "expired");
                LogExpired(Log, id, expired.Model);
            }
            else
            {
                settled.Add(id); // another replica or a worker finished it first, or the record is gone
            }
        }
        await store.UnlistDeadlinesAsync(settled);
        return due.Length;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} ({Model}) passed its deadline and expired")]
    private static partial void LogExpired(ILogger logger, string jobId, string model);
}
