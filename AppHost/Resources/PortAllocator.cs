using System.Net;
using System.Net.Sockets;

namespace AppHost.Resources;

/// <summary>
/// Ports for the servers' endpoints. Aspire does not proxy executables' endpoints, so their ports are chosen here,
/// free at build time, rather than fixed: a test run and a dev run can share a machine.
/// </summary>
internal static class PortAllocator
{
    private static readonly HashSet<int> Taken = [];

    public static int GetFreePort()
    {
        lock (Taken)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
                if (Taken.Add(port))
                {
                    return port;
                }
            }
        }
        throw new InvalidOperationException("Could not find a free loopback port.");
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
