namespace Client;

/// <summary>A model as <c>GET /v1/models</c> lists it; <see cref="ServingVersions"/> are the versions live workers run.</summary>
public sealed record ModelSummary(
    string Name, string Task, IReadOnlyList<int> Versions, int LatestVersion, IReadOnlyList<int> ServingVersions, bool Ready);
