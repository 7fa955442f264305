// What ModelSync stores in Redis about model versions and rollouts; read by ModelSync's admin API and by workers.
namespace Contracts.Models;

public static class ModelVersionStates
{
    public const string Valid = "valid";
    public const string Invalid = "invalid";
}

/// <summary>ModelSync's verdict on one published version.</summary>
public sealed record ModelVersionState(string State, string? Reason, DateTimeOffset CheckedAt)
{
    public bool IsValid => State == ModelVersionStates.Valid;
}

/// <summary>A rollout of one model to <see cref="To"/>: workers done so far, and how it ended.</summary>
/// <param name="Steps">The workers drained together in each step (at most ModelSync:MaxUnavailable per step).</param>
public sealed record ModelRolloutState(
    int? From,
    int To,
    string State,
    DateTimeOffset Started,
    DateTimeOffset? Finished,
    IReadOnlyList<string> Done,
    string? Message,
    IReadOnlyList<IReadOnlyList<string>>? Steps = null);

public static class ModelRolloutStates
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string RolledBack = "rolled-back";
    public const string Failed = "failed";

    /// <summary>The desired version changed while it ran (a newer version validated, a pin): a new rollout took over.</summary>
    public const string Superseded = "superseded";
}

/// <summary>Commands published on <c>worker:{instance}:command</c>.</summary>
public static class WorkerCommandNames
{
    /// <summary>Stop consuming, finish the batch in hand, exit 0 (the supervisor restarts the worker).</summary>
    public const string Drain = "drain";
}
