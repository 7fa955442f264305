using System.Globalization;

namespace Client.Bench;

/// <summary>Another process's memory and open files as Linux reports them in <c>/proc</c> (null elsewhere, or when it is gone).</summary>
public static class ProcessMemory
{
    /// <summary>Resident set size (VmRSS) in MiB.</summary>
    public static double? ResidentMiB(int? pid) => StatusKiB(pid, "VmRSS:") / 1024.0;

    /// <summary>The high-water mark of the resident set (VmHWM) in MiB.</summary>
    public static double? PeakResidentMiB(int? pid) => StatusKiB(pid, "VmHWM:") / 1024.0;

    public static int? OpenFiles(int? pid)
    {
        try
        {
            return pid is { } p ? Directory.EnumerateFileSystemEntries($"/proc/{p}/fd").Count() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>A "Name:   123 kB" line of <c>/proc/{pid}/status</c>.</summary>
    public static long? StatusKiB(int? pid, string field)
    {
        if (pid is not { } p)
        {
            return null;
        }
        try
        {
            foreach (var line in File.ReadLines($"/proc/{p}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var value = line[field.Length..].Trim();
                    var space = value.IndexOf(' ', StringComparison.Ordinal);
                    return long.Parse(space < 0 ? value : value[..space], NumberStyles.None, CultureInfo.InvariantCulture);
                }
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }
}
