namespace Contracts.Models;

/// <summary>
/// The reason a worker gives in its heartbeat's <c>fallbacks</c> when it serves another version than it was told to: written
/// by the worker, read by ModelSync to end a rollout step at once.
/// </summary>
public static class WorkerFallback
{
    /// <summary>How every fallback reason about <paramref name="desired"/> begins.</summary>
    public static string Prefix(int desired) => $"told to serve version {desired}:";

    public static string Describe(int desired, IEnumerable<string> problems, int served) =>
        $"{Prefix(desired)} {string.Join("; ", problems)}; serving version {served}";
}
