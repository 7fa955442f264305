namespace Client;

/// <summary>
/// A model as <c>GET /v1/models</c> lists it; <see cref="ServingVersions"/> are the versions live workers run, and
/// <see cref="Reason"/> says why the model is not <see cref="Ready"/> (no worker running, none serving it).
/// </summary>
public sealed record ModelSummary(
    string Name, string Task, IReadOnlyList<int> Versions, int LatestVersion, IReadOnlyList<int> ServingVersions, bool Ready, string? Reason = null);
