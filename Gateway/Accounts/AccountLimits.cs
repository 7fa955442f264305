using System.Text.Json.Serialization;

namespace Gateway.Accounts;

/// <summary>
/// How much one account may submit, enforced in Redis on every gateway replica at once: <see cref="JobsPerSecond"/> with
/// bursts of up to <see cref="Burst"/> jobs (a token bucket), and at most <see cref="MaxUnfinishedJobs"/> jobs queued or
/// running. A job over either is refused with <c>429 rate_limited</c> and <c>Retry-After</c>. Null: no such limit.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)] // a misspelt limit is an error, not a limit left unset
public sealed record AccountLimits
{
    public double? JobsPerSecond { get; init; }

    /// <summary>Jobs that may arrive at once after a quiet spell; by default one second's worth (at least 1).</summary>
    public int? Burst { get; init; }

    public int? MaxUnfinishedJobs { get; init; }

    /// <summary>What is wrong with these limits as an operator sent them, or null.</summary>
    public string? Problem() => this switch
    {
        { JobsPerSecond: { } rate } when !double.IsFinite(rate) || rate <= 0 || rate > 1_000_000 => "jobsPerSecond is a number above 0 (and at most 1000000), or null for no rate limit.",
        { Burst: { } burst } when burst < 1 || burst > 1_000_000 => "burst is a whole number from 1 to 1000000, or null for one second's worth of jobs.",
        { Burst: not null, JobsPerSecond: null } => "burst needs jobsPerSecond: it is the size of the rate limit's bucket.",
        { MaxUnfinishedJobs: { } max } when max < 1 || max > 10_000_000 => "maxUnfinishedJobs is a whole number from 1 to 10000000, or null for no cap.",
        _ => null,
    };
}
