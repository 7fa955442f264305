// What ModelSync stores in Redis about model versions and rollouts; read by ModelSync's admin API and by workers.
namespace Contracts.Models;

public static class ModelVersionStates
{
    public const string Valid = "valid";
    public const string Invalid = "invalid";

    /// <summary>Judged once, no longer published in the bucket (deleted, or never in this bucket): never desired, never served.</summary>
    public const string Removed = "removed";
}

/// <summary>ModelSync's verdict on one published version.</summary>
/// <param name="Manifest">The sha256 of the manifest judged: a bucket holding other bytes under this version is judged again.</param>
/// <param name="RemovedAt">When ModelSync found the version gone from the bucket (state <see cref="ModelVersionStates.Removed"/>).</param>
public sealed record ModelVersionState(string State, string? Reason, DateTimeOffset CheckedAt, string? Manifest = null, DateTimeOffset? RemovedAt = null)
{
    public bool IsValid => State == ModelVersionStates.Valid;

    public bool IsRemoved => State == ModelVersionStates.Removed;
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

    /// <summary>
    /// Not a rollout but an event in the history: the pinned version (<see cref="ModelRolloutState.From"/>) left the bucket, the
    /// pin was lifted and the desired version fell back to <see cref="ModelRolloutState.To"/> (the pinned one when none is left).
    /// </summary>
    public const string Unpinned = "unpinned";
}

/// <summary>Commands published on <c>worker:{instance}:command</c>.</summary>
public static class WorkerCommandNames
{
    /// <summary>Stop consuming, finish the batch in hand, exit 0 (the supervisor restarts the worker).</summary>
    public const string Drain = "drain";
}
