// One step of a rollout as the workers' heartbeats show it: the drained workers are back with the desired version, one
// of them came back and reported that it cannot serve it, or the step is still under way.
using Contracts.Models;
using ModelSync.Models;

namespace ModelSync.Rollout;

/// <summary>What the workers' heartbeats say about a rollout step, judged on each poll while it runs.</summary>
/// <param name="Done">The replacements serving the desired version, once there is one for every drained worker.</param>
/// <param name="Refusal">Why a replacement serves another version than the desired one: its own account of the failure.</param>
public sealed record RolloutStepView(IReadOnlyList<WorkerView>? Done, string? Refusal)
{
    public static readonly RolloutStepView Waiting = new(null, null);

    /// <summary>
    /// Judges a step that drained <paramref name="targets"/> of <paramref name="model"/> towards <paramref name="desired"/>.
    /// A replacement is a target back with a new pid, or an instance that did not exist before the step
    /// (<paramref name="before"/>). One that is ready but serves another version, saying it was told to serve the desired
    /// one and could not (the worker's fallback), ends the step at once: every replacement would read the same bucket.
    /// </summary>
    public static RolloutStepView Judge(
        string model, int desired, IReadOnlyCollection<string> targets, IReadOnlySet<(string Instance, long Pid)> before,
        IEnumerable<WorkerView> workers)
    {
        var replacements = workers.Where(w =>
            !before.Contains((w.Instance, w.Pid))
            && (targets.Contains(w.Instance) || !before.Any(b => b.Instance == w.Instance))
            && w.Ready && w.Models.ContainsKey(model)).ToList();
        var refused = replacements.FirstOrDefault(w => w.Models[model] != desired
            && w.Fallbacks?.GetValueOrDefault(model) is { } fallback
            && fallback.StartsWith(WorkerFallback.Prefix(desired), StringComparison.Ordinal));
        if (refused is not null)
        {
            return new(null, $"worker {refused.Instance} came back without version {desired}: {refused.Fallbacks![model]}");
        }

        var done = replacements.Where(w => w.Models[model] == desired).ToList();
        return done.Count >= targets.Count ? new(done, null) : Waiting;
    }

    /// <summary>
    /// Whether a failed rollout's last step came good after its timeout: every worker it drained is back, ready, serving the
    /// version the rollout was going to (a slow start, not a refusal: a worker that cannot load it serves its previous one).
    /// Such a rollout is carried on rather than left failed with the fleet on two versions.
    /// </summary>
    public static bool CameBackLate(string model, ModelRolloutState rollout, IEnumerable<WorkerView> workers)
    {
        if (rollout.State != ModelRolloutStates.Failed || rollout.Steps is not [.., { Count: > 0 } last])
        {
            return false;
        }
        var serving = workers.Where(w => w.Ready && w.Models.TryGetValue(model, out var v) && v == rollout.To)
            .Select(w => w.Instance).ToHashSet(StringComparer.Ordinal);
        return last.All(serving.Contains);
    }
}
