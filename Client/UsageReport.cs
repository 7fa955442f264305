namespace Client;

/// <summary>
/// <c>GET /v1/usage</c>: an account's finished jobs in [<see cref="From"/>, <see cref="To"/>), per time bucket and model,
/// and what they cost in <see cref="Currency"/> (succeeded jobs are billed; failed, expired and cancelled ones are not).
/// </summary>
public sealed record UsageReport(
    DateTimeOffset From, DateTimeOffset To, string Granularity, string Currency, IReadOnlyList<UsageLine> Lines, long Jobs, decimal Amount);

/// <summary>One bucket (a UTC day or hour starting at <see cref="Start"/>) of one model.</summary>
public sealed record UsageLine(
    Guid? AccountId, DateTimeOffset Start, string Model, long Jobs, long Succeeded, long Failed, long Expired, long Cancelled,
    double ComputeSeconds, long InputBytes, decimal Amount);
