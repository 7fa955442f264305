namespace ServiceDefaults.Jobs;

/// <summary>Options a client may give with a job (REST query and headers, or the hub's <c>Submit</c> argument).</summary>
public sealed record SubmitOptions(double? TimeoutSeconds = null, string? IdempotencyKey = null, int? Priority = null);
