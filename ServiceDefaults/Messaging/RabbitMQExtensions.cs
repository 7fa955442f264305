using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using ServiceDefaults.Caching;

namespace ServiceDefaults.Messaging;

/// <summary>RabbitMQ from <c>ConnectionStrings__{name}</c> (an amqp:// URI), connected once and shared.</summary>
public static class RabbitMQExtensions
{
    public static IHostApplicationBuilder AddRabbitMQClient(this IHostApplicationBuilder builder, string connectionName = "messaging")
    {
        var uri = builder.Configuration.GetRequiredConnectionString(connectionName, "the RabbitMQ broker, amqp://user:pass@host:port");
        builder.Services.AddSingleton(sp => new RabbitMQConnection(
            new Uri(uri), builder.Environment.ApplicationName, sp.GetRequiredService<ILogger<RabbitMQConnection>>()));
        builder.Services.AddHealthChecks().AddCheck<RabbitMQHealthCheck>(connectionName);
        return builder;
    }
}

/// <summary>
/// One AMQP connection per process, opened on first use with retries (the broker may still be starting)
/// and kept alive by the client's automatic recovery afterwards.
/// </summary>
public sealed class RabbitMQConnection(Uri uri, string clientName, ILogger<RabbitMQConnection> log) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IConnection? _connection;

    public ConnectionFactory Factory { get; } = new()
    {
        Uri = uri,
        ClientProvidedName = clientName,
        AutomaticRecoveryEnabled = true,
        TopologyRecoveryEnabled = true,
        NetworkRecoveryInterval = TimeSpan.FromSeconds(1),
        RequestedHeartbeat = TimeSpan.FromSeconds(10),
    };

    public bool IsOpen => _connection?.IsOpen == true;

    public async Task<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing;
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var delay = TimeSpan.FromMilliseconds(250);
            for (var attempt = 1; ; attempt++)
            {
                if (_connection is { } c)
                {
                    return c;
                }
                try
                {
                    _connection = await Factory.CreateConnectionAsync(cancellationToken);
                    return _connection;
                }
                catch (Exception e) when (e is RabbitMQ.Client.Exceptions.BrokerUnreachableException && attempt < 10)
                {
                    log.LogWarning("RabbitMQ at {Host}:{Port} not reachable yet (attempt {Attempt}): {Reason}",
                        Factory.HostName, Factory.Port, attempt, e.InnerException?.Message ?? e.Message);
                    await Task.Delay(delay, cancellationToken);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 5000));
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } c)
        {
            try
            {
                await c.CloseAsync(TimeSpan.FromSeconds(3));
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                log.LogDebug(e, "Closing the RabbitMQ connection failed");
            }
            c.Dispose();
        }
        _gate.Dispose();
    }
}

internal sealed class RabbitMQHealthCheck(RabbitMQConnection rabbit) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            var connection = await rabbit.GetAsync(timeout.Token);
            return connection.IsOpen
                ? HealthCheckResult.Healthy($"connected to {connection.Endpoint}")
                : HealthCheckResult.Unhealthy("RabbitMQ connection is closed (recovering)");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return HealthCheckResult.Unhealthy($"RabbitMQ unreachable: {e.Message}");
        }
    }
}
