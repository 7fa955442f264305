using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Integration.Tests;

/// <summary>
/// A fault-injecting TCP proxy of our own (no toxiproxy here): forwards every connection to one upstream endpoint, can
/// delay each chunk in both directions, and can reset (RST) every open connection at once.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, (Socket Client, Socket Server)> _connections = new();
    private readonly Task _accepting;
    private long _nextId;
    private long _accepted;
    private long _resets;

    public TcpProxy(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Added before forwarding each chunk, in each direction.</summary>
    public TimeSpan Delay { get; set; }

    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections torn down by <see cref="ResetAll"/>.</summary>
    public long Resets => Interlocked.Read(ref _resets);

    public int Open => _connections.Count;

    /// <summary>Aborts every open connection with a TCP RST on both sides (linger 0, then close).</summary>
    public int ResetAll()
    {
        var count = 0;
        foreach (var (id, pair) in _connections)
        {
            if (_connections.TryRemove(id, out _))
            {
                Abort(pair.Client);
                Abort(pair.Server);
                count++;
            }
        }
        Interlocked.Add(ref _resets, count);
        return count;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await server.ConnectAsync(_upstream, _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            Abort(client);
            server.Dispose();
            return;
        }
        Interlocked.Increment(ref _accepted);
        var id = Interlocked.Increment(ref _nextId);
        _connections[id] = (client, server);
        await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        if (_connections.TryRemove(id, out _))
        {
            // One side closed: close the other normally.
            client.Dispose();
            server.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    return;
                }
                if (Delay > TimeSpan.Zero)
                {
                    await Task.Delay(Delay, _stop.Token);
                }
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private static void Abort(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        ResetAll();
        await _accepting;
        _stop.Dispose();
    }
}
