namespace AppHost.Hosting;

/// <summary>A program or build output the graph needs is missing; the message is one line saying how to get it.</summary>
public sealed class MissingPrerequisiteException(string message) : Exception(message);

internal static class Prerequisites
{
    public static void Check(IEnumerable<ExecutableResource> resources)
    {
        foreach (var resource in resources)
        {
            if (Resolve(resource.Command) is null)
            {
                throw new MissingPrerequisiteException(
                    $"{resource.Name}: '{resource.Command}' was not found{(resource.InstallHint is null ? "" : $"; install it: {resource.InstallHint}")}");
            }
            if (resource is ProjectResource project && !File.Exists(project.AssemblyPath))
            {
                throw new MissingPrerequisiteException(
                    $"{resource.Name}: {project.AssemblyPath} does not exist; {resource.InstallHint}");
            }
        }
    }

    /// <summary>The full path of <paramref name="command"/> (absolute, relative or on PATH), or null.</summary>
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
