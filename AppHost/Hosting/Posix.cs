using System.Runtime.InteropServices;

namespace AppHost.Hosting;

/// <summary>The one POSIX call .NET's Process lacks: sending SIGTERM for a graceful stop.</summary>
internal static class Posix
{
    private const int SigTerm = 15;

    public static bool Terminate(int pid) => kill(pid, SigTerm) == 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
