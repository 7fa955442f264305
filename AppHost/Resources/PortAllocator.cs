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
/// <para>
/// Each port stays bound here (a listening socket) until just before the server that owns it starts
/// (<see cref="ReleasingHeldPorts"/>). Aspire's orchestrator picks ports too — a project's, each worker replica's — from the
/// same range, free at the time it picks them, and it picks them at start-up, before our servers have bound theirs: seen
/// 2026-12-04, a worker given epmd's port, which it could never bind, so the graph never started.
/// </para>
/// </summary>
internal static class PortAllocator
{
    private static readonly HashSet<int> Taken = [];
    private static readonly Dictionary<int, Socket> Held = [];
    private const int Lowest = 10_000;

    /// <summary>A free loopback port, held until <see cref="Release"/> (or the AppHost's exit).</summary>
    public static int GetFreePort()
    {
        lock (Taken)
        {
            var below = EphemeralStart();
            for (var attempt = 0; below - Lowest > 1_000 && attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(Lowest, below);
                if (!Taken.Contains(port) && TryHold(port) > 0)
                {
                    return port;
                }
            }
            for (var attempt = 0; attempt < 50; attempt++)
            {
                if (TryHold(0) is var port and > 0)
                {
                    return port;
                }
            }
        }
        throw new InvalidOperationException("Could not find a free loopback port.");
    }

    /// <summary>Lets go of a held port, so its server can bind it.</summary>
    public static void Release(int port)
    {
        lock (Taken)
        {
            if (Held.Remove(port, out var socket))
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Releases <paramref name="ports"/> just before the resource starts (each start: a restart finds them free).</summary>
    public static IResourceBuilder<T> ReleasingHeldPorts<T>(this IResourceBuilder<T> resource, params int[] ports) where T : IResource
    {
        resource.ApplicationBuilder.Eventing.Subscribe<BeforeResourceStartedEvent>(resource.Resource, (_, _) =>
        {
            foreach (var port in ports)
            {
                Release(port);
            }
            return Task.CompletedTask;
        });
        return resource;
    }

    // Binds and listens on the port (0: one the kernel picks), so every other bind of it fails until it is released
    // (a socket only bound would not do: .NET binds with address reuse on Unix). A held port accepts connections, so
    // every server's health check speaks its protocol rather than only connecting. Returns the port held, or 0.
    private static int TryHold(int port)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
            listener.Listen(1);
            var bound = ((IPEndPoint)listener.LocalEndPoint!).Port;
            if (!Taken.Add(bound))
            {
                listener.Dispose();
                return 0;
            }
            Held[bound] = listener;
            return bound;
        }
        catch (SocketException)
        {
            listener.Dispose();
            return 0;
        }
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
