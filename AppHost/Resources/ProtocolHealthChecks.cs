// Readiness of the servers as their clients see it, so WaitFor waits for a server that answers, not one that merely runs.
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AppHost.Resources;

/// <summary>Redis answers <c>PING</c> with <c>PONG</c> (not <c>-LOADING</c> while it replays its append-only file).</summary>
internal sealed class RedisPingHealthCheck(int port) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var reply = await ProtocolProbe.ExchangeAsync(port, "PING\r\n"u8.ToArray(), cancellationToken);
        return reply.Error is { } error ? HealthCheckResult.Unhealthy(error)
            : Encoding.ASCII.GetString(reply.Bytes).StartsWith("+PONG", StringComparison.Ordinal) ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"PING answered {Encoding.ASCII.GetString(reply.Bytes).Trim()}");
    }
}

/// <summary>RabbitMQ answers the AMQP 0-9-1 protocol header with a <c>connection.start</c> method frame.</summary>
internal sealed class AmqpHandshakeHealthCheck(int port) : IHealthCheck
{
    private static readonly byte[] ProtocolHeader = "AMQP\0\0\u0009\u0001"u8.ToArray();

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var reply = await ProtocolProbe.ExchangeAsync(port, ProtocolHeader, cancellationToken);
        var b = reply.Bytes;
        // Frame type 1 (method), channel 0, then class 10 (connection) method 10 (start) after the 4-byte size.
        return reply.Error is { } error ? HealthCheckResult.Unhealthy(error)
            : b.Length >= 11 && b[0] == 1 && b[7] == 0 && b[8] == 10 && b[9] == 0 && b[10] == 10 ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"no connection.start in reply to the AMQP header ({b.Length} bytes)");
    }
}

/// <summary>
/// epmd answers on the port: a NAMES_REQ (length 1, byte 110) gets its own port number back (4 bytes, big-endian) before
/// the list of nodes. Connecting alone is not enough: until epmd starts, the AppHost itself holds the port (PortAllocator).
/// </summary>
internal sealed class EpmdHealthCheck(int port) : IHealthCheck
{
    private static readonly byte[] NamesRequest = [0, 1, 110];

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var reply = await ProtocolProbe.ExchangeAsync(port, NamesRequest, cancellationToken);
        var b = reply.Bytes;
        return reply.Error is { } error ? HealthCheckResult.Unhealthy(error)
            : b.Length >= 4 && (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) == port ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"no epmd reply to NAMES_REQ ({b.Length} bytes)");
    }
}

internal static class ProtocolProbe
{
    public readonly record struct Reply(byte[] Bytes, string? Error);

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>, sends <paramref name="request"/> and reads the first reply (2 s at most).</summary>
    public static async Task<Reply> ExchangeAsync(int port, byte[] request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(request, timeout.Token);
            var buffer = new byte[256];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return new Reply(buffer[..read], null);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new Reply([], $"127.0.0.1:{port}: {e.Message}");
        }
    }
}
