using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace ServiceDefaults.Caching;

/// <summary>
/// Redis from <c>ConnectionStrings__{name}</c> (Aspire's convention). StackExchange.Redis 1.2.6 is the
/// only version this registry restores; services see only <see cref="IConnectionMultiplexer"/>, so a
/// newer client can replace it here without touching them.
/// </summary>
public static class RedisExtensions
{
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName = "cache")
    {
        var connectionString = builder.Configuration.GetRequiredConnectionString(connectionName, "the Redis server, host:port[,password=…]");
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ => Connect(connectionString));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>(connectionName);
        return builder;
    }

    public static ConnectionMultiplexer Connect(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = Math.Max(options.ConnectTimeout, 5000);
        options.ConnectRetry = Math.Max(options.ConnectRetry, 3);
        // 1.2.6 waits 1 s for a synchronous reply (SCAN pages, say); newer clients wait 5 s. On a loaded machine 1 s fails
        // calls Redis would have answered.
        options.SyncTimeout = Math.Max(options.SyncTimeout, 5000);
        return ConnectionMultiplexer.Connect(options);
    }

    /// <summary>Reads <c>ConnectionStrings:{name}</c> or fails with a message naming the variable to set.</summary>
    public static string GetRequiredConnectionString(this IConfiguration configuration, string name, string what)
    {
        var value = configuration.GetConnectionString(name);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings__{name} is not set: it names {what}. The AppHost sets it; standalone, set the environment variable.");
        }
        return value;
    }
}

internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(TimeSpan.FromSeconds(3), cancellationToken);
            return HealthCheckResult.Healthy($"PING {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis unreachable: {e.Message}");
        }
    }
}
