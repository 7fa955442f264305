// The decisions of one poll, apart from the I/O: which known versions left the bucket, which published ones need a
// verdict, and which version is desired (and whether a pin must go).
using System.Security.Cryptography;
using System.Text;
using Contracts.Models;

namespace ModelSync.Models;

/// <summary>What one poll does to one model's versions.</summary>
/// <param name="Removed">Known versions the bucket no longer publishes, with the verdict to store (state <c>removed</c>).</param>
/// <param name="ToJudge">Published versions to validate: never seen, back after a removal, or other bytes under a known number.</param>
public sealed record VersionPlan(IReadOnlyDictionary<int, ModelVersionState> Removed, IReadOnlyList<int> ToJudge);

/// <summary>The desired version (null: no valid version is published, the model is withdrawn) and why a pin is lifted, if it is.</summary>
public readonly record struct DesiredChoice(int? Desired, string? LiftPin);

public static class BucketReconciliation
{
    /// <summary>The sha256 of a manifest's text, as a verdict records it.</summary>
    public static string ManifestHash(string manifestJson) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(manifestJson)));

    /// <param name="known">ModelSync's verdicts on the model's versions.</param>
    /// <param name="published">The versions the bucket publishes now, each with its manifest's hash.</param>
    /// <param name="location">Where the bucket lives, for the reason of a removal.</param>
    public static VersionPlan Plan(
        IReadOnlyDictionary<int, ModelVersionState> known, IReadOnlyDictionary<int, string> published, string location, DateTimeOffset now)
    {
        var removed = known
            .Where(k => !k.Value.IsRemoved && !published.ContainsKey(k.Key))
            .OrderBy(k => k.Key)
            .ToDictionary(k => k.Key, k => k.Value with
            {
                State = ModelVersionStates.Removed,
                Reason = $"no longer published in {location} (was {k.Value.State})",
                RemovedAt = now,
            });
        // Versions are immutable within a bucket, but a restored backup or another bucket may hold other bytes under a
        // number already judged: such a verdict is about bytes no worker will fetch, so the version is judged again.
        var toJudge = published
            .Where(p => !known.TryGetValue(p.Key, out var state) || state.IsRemoved || state.Manifest is { } hash && hash != p.Value)
            .Select(p => p.Key)
            .Order()
            .ToList();
        return new VersionPlan(removed, toJudge);
    }

    /// <summary>The pinned version while it is valid, else the newest valid one; a pin on a version that is not valid is lifted.</summary>
    public static DesiredChoice ChooseDesired(IReadOnlyDictionary<int, ModelVersionState> versions, int? pinned)
    {
        var latest = versions.Where(v => v.Value.IsValid).Select(v => (int?)v.Key).Max();
        if (pinned is not { } pin)
        {
            return new DesiredChoice(latest, null);
        }

        if (versions.TryGetValue(pin, out var state) && state.IsValid)
        {
            return new DesiredChoice(pin, null);
        }

        var why = state switch
        {
            null => $"pinned version {pin} is not in the bucket",
            { IsRemoved: true } => $"pinned version {pin} was removed from the bucket",
            _ => $"pinned version {pin} is {state.State}",
        };
        return new DesiredChoice(latest, latest is { } fallback
            ? $"{why}: unpinned, desired falls back to version {fallback}"
            : $"{why}: unpinned, and no valid version is published: the model is withdrawn");
    }
}
