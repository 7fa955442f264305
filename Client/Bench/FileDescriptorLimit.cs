using System.Runtime.InteropServices;

namespace Client.Bench;

/// <summary>
/// RLIMIT_NOFILE of this process: every socket is a file descriptor, so 10,000 connections need more than the
/// common default of 1,024. (The .NET runtime already lifts the soft limit to the hard limit at start on Linux;
/// this makes it explicit and reports what we got.)
/// </summary>
public static class FileDescriptorLimit
{
    private const int RlimitNofile = 7; // Linux

    /// <summary>Raises the soft limit towards <paramref name="wanted"/> (up to the hard limit); returns the soft limit now, or null off Linux.</summary>
    public static long? RaiseTo(long wanted)
    {
        if (!OperatingSystem.IsLinux() || getrlimit(RlimitNofile, out var limit) != 0)
        {
            return null;
        }
        if (limit.Current < (ulong)wanted)
        {
            var raised = limit with { Current = Math.Min((ulong)wanted, limit.Max) };
            if (setrlimit(RlimitNofile, in raised) == 0)
            {
                limit = raised;
            }
        }
        return (long)Math.Min(limit.Current, long.MaxValue);
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct RLimit(ulong Current, ulong Max);

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, in RLimit limit);
}
