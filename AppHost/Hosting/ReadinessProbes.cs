using System.Net.Sockets;
using System.Text;

namespace AppHost.Hosting;

/// <summary>Real readiness checks: an HTTP 200 from /health, a Redis PONG, an opened AMQP connection.</summary>
internal static class ReadinessProbes
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    /// <summary>Null when ready, else a short reason.</summary>
    public static async Task<string?> CheckAsync(ReadinessProbe probe, int port, CancellationToken cancellationToken)
    {
        try
        {
            return probe switch
            {
                ReadinessProbe.HttpHealth => await HttpHealthAsync(port, cancellationToken),
                ReadinessProbe.RedisPing => await RedisPingAsync(port, cancellationToken),
                ReadinessProbe.AmqpConnection => await AmqpAsync(port, cancellationToken),
                _ => null,
            };
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or TimeoutException
            or RabbitMQ.Client.Exceptions.BrokerUnreachableException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return e.InnerException?.Message ?? e.Message;
        }
    }

    /// <summary>Null when <paramref name="path"/> answers 2xx within the probe's timeout, else a short reason.</summary>
    public static async Task<string?> CheckAliveAsync(string path, int port, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{port}{path}", cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return null;
            }
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            return $"{path} {(int)response.StatusCode}: {Truncate(body, 300)}";
        }
        catch (Exception e) when (e is HttpRequestException or IOException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return $"{path}: {e.InnerException?.Message ?? e.Message}";
        }
    }

    private static async Task<string?> HttpHealthAsync(int port, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{port}/health", cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return null;
        }
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        return $"/health {(int)response.StatusCode}: {Truncate(body, 300)}";
    }

    private static async Task<string?> RedisPingAsync(int port, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        var reply = Encoding.ASCII.GetString(buffer, 0, read);
        // "-LOADING" while the AOF is replayed: not ready yet.
        return reply.StartsWith("+PONG", StringComparison.Ordinal) ? null : $"PING answered {reply.Trim()}";
    }

    private static async Task<string?> AmqpAsync(int port, CancellationToken cancellationToken)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory
        {
            HostName = "127.0.0.1",
            Port = port,
            UserName = "guest",
            Password = "guest",
            AutomaticRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(3),
            ClientProvidedName = "apphost-readiness",
        };
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await connection.CloseAsync(200, "readiness probe", TimeSpan.FromSeconds(2), false, cancellationToken);
        return null;
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "…";
}
