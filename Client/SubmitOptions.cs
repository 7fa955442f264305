namespace Client;

/// <summary>Per-job options: a deadline in seconds after which the job expires unrun, and a key that makes a retry return the same job.</summary>
public sealed record SubmitOptions(double? TimeoutSeconds = null, string? IdempotencyKey = null);
