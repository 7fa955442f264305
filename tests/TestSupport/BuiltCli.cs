using System.Diagnostics;

namespace TestSupport;

/// <summary>The CLI (Client/) as a user runs it: the built Client.dll of this configuration, its output captured.</summary>
public static class BuiltCli
{
    /// <summary>How long one command may take before it is killed (with its children) and the test fails.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(
        string? workingDirectory, IReadOnlyDictionary<string, string>? environment, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var cli = Path.Combine(Projects.RepositoryInfo.Root, "Client", "bin", Projects.RepositoryInfo.Configuration, "net10.0", "Client.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { cli },
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(Timeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
