using System.Net;
using System.Net.Sockets;

namespace AppHost.Resources;

/// <summary>
/// Ports for the servers' endpoints. Aspire does not proxy executables' endpoints, so their ports are chosen here,
/// free at build time, rather than fixed: a test run and a dev run can share a machine.
/// <para>
/// Chosen at random below the kernel's ephemeral range (<c>net.ipv4.ip_local_port_range</c>, 32768–60999 by default), not
/// by binding port 0: a port from that range is free now but is the kind the kernel hands out as the local port of any
/// outgoing connection, so between this choice and the server's bind another process's connection can take it (seen
/// 2026-12-03: RabbitMQ's <c>could_not_start_listener</c> on such a port, with three AppHosts starting at once).
/// </para>
/// </summary>
internal static class PortAllocator
{
    private static readonly HashSet<int> Taken = [];
    private const int Lowest = 10_000;

    public static int GetFreePort()
    {
        lock (Taken)
        {
            var below = EphemeralStart();
            for (var attempt = 0; below - Lowest > 1_000 && attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(Lowest, below);
                if (!Taken.Contains(port) && IsFree(port))
                {
                    Taken.Add(port);
                    return port;
                }
            }
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

    /// <summary>The first port of the ephemeral range (Linux's setting; elsewhere the IANA range's 49152).</summary>
    private static int EphemeralStart()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split(default(char[]), StringSplitOptions.RemoveEmptyEntries);
            return int.Parse(range[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 49_152;
        }
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
