namespace AppHost.Resources;

/// <summary>A program the graph needs is missing; the message is one line saying how to get it.</summary>
public sealed class MissingPrerequisiteException(string message) : Exception(message);

internal static class Prerequisites
{
    /// <summary>The full path of <paramref name="command"/> (absolute, relative or on PATH); throws with <paramref name="installHint"/> when missing.</summary>
    public static string Require(string resource, string command, string installHint) =>
        Resolve(command) ?? throw new MissingPrerequisiteException($"{resource}: '{command}' was not found; install it: {installHint}");

    public static string? Resolve(string command)
    {
        if (command.Contains('/'))
        {
            return File.Exists(command) ? Path.GetFullPath(command) : null;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
