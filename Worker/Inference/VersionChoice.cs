namespace Worker.Inference;

/// <summary>What ModelSync says about one model in Redis, as a replica reads it at start.</summary>
/// <param name="Desired">The version to serve, when set.</param>
/// <param name="Valid">The versions ModelSync found valid; null when it has not judged the model (or Redis could not say).</param>
public sealed record ModelVerdicts(int? Desired, IReadOnlySet<int>? Valid);

public static class VersionChoice
{
    /// <summary>
    /// The versions of one model a replica tries to fetch, best first: the desired one when the bucket publishes it, then
    /// the newest valid published ones, so a desired version that cannot be fetched (removed from the bucket, bytes that
    /// do not match their sha256) leaves the replica serving the best version it can rather than nothing. A model ModelSync
    /// has not judged is served at its newest published version; one it judged with no valid version is not served.
    /// </summary>
    /// <param name="published">The versions the bucket publishes.</param>
    public static IReadOnlyList<int> Candidates(IReadOnlyCollection<int> published, ModelVerdicts? verdicts)
    {
        var fallbacks = published
            .Where(v => verdicts?.Valid is not { } valid || valid.Contains(v))
            .OrderDescending()
            .ToList();
        return verdicts?.Desired is { } desired && published.Contains(desired)
            ? [desired, .. fallbacks.Where(v => v != desired)]
            : fallbacks;
    }
}
