using System.Runtime.InteropServices;
using System.Text;

namespace AppHost.Tests;

/// <summary>Finds live processes by the marker variable the AppHost sets on everything it starts.</summary>
internal static class ChildProcesses
{
    public static List<int> WithMarker(string runDirectory)
    {
        var needle = Encoding.UTF8.GetBytes($"{RunSummaryExtensions.RunMarkerVariable}={runDirectory}\0");
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || !IsAlive(pid))
            {
                continue;
            }
            try
            {
                var environ = File.ReadAllBytes(Path.Combine(dir, "environ"));
                if (environ.AsSpan().IndexOf(needle) >= 0)
                {
                    found.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked.
            }
        }
        return found;
    }

    /// <summary>Live DCP processes watching <paramref name="appHostPid"/> (started with <c>--monitor PID</c>): Aspire's orchestrator of that AppHost.</summary>
    public static List<int> MonitoredBy(int appHostPid) =>
        [.. Alive().Where(pid => CommandLine(pid) is var line && line.Contains("dcp", StringComparison.Ordinal)
            && line.Contains($"--monitor {appHostPid} ", StringComparison.Ordinal))];

    public static IEnumerable<int> Alive() =>
        Directory.EnumerateDirectories("/proc").Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0).Where(pid => pid > 0 && IsAlive(pid));

    /// <summary>True while the process exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state != 'Z' && state != 'X';
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static int ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    /// <summary>The value of <paramref name="name"/> in the environment <paramref name="pid"/> was started with, if set.</summary>
    public static string? EnvironmentVariable(int pid, string name)
    {
        try
        {
            var prefix = name + "=";
            return File.ReadAllText($"/proc/{pid}/environ").Split('\0').FirstOrDefault(e => e.StartsWith(prefix, StringComparison.Ordinal))?[prefix.Length..];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    public static void Signal(int pid, int signal) => _ = kill(pid, signal);

    public const int SigInt = 2;
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
