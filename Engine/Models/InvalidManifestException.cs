namespace Engine.Models;

/// <summary>A model.json that cannot be used, with every problem found (not just the first).</summary>
public sealed class InvalidManifestException(string manifestPath, IReadOnlyList<string> problems)
    : Exception($"{manifestPath}: {string.Join("; ", problems)}")
{
    public string ManifestPath { get; } = manifestPath;

    public IReadOnlyList<string> Problems { get; } = problems;
}
