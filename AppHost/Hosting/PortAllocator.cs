using System.Net;
using System.Net.Sockets;

namespace AppHost.Hosting;

internal static class PortAllocator
{
    /// <summary>A loopback port free right now (the OS picks it); distinct from those handed out before.</summary>
    public static int GetFreePort(ISet<int> taken)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
            if (taken.Add(port))
            {
                return port;
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
