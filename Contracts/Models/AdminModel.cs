namespace Contracts.Models;

/// <summary>
/// One model as ModelSync's admin API (<c>GET /admin/models</c>) describes it: what the bucket holds and how each version
/// was judged, the desired and pinned version, what each live worker serves, the current rollout and the last ones.
/// </summary>
/// <param name="Fallbacks">Workers serving another version than they were told to (it could not be fetched), with their reason.</param>
public sealed record AdminModel(
    string Name,
    IReadOnlyDictionary<int, ModelVersionState> Versions,
    int? Desired,
    int? Pinned,
    IReadOnlyDictionary<string, int?> Serving,
    ModelRolloutState? Rollout,
    IReadOnlyList<ModelRolloutState> History,
    IReadOnlyDictionary<string, string>? Fallbacks = null);
