using Microsoft.Extensions.Configuration;

namespace ServiceDefaults.Configuration;

public static class ConnectionStrings
{
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

public static class RequiredConnections
{
    private static readonly Dictionary<string, string> What = new(StringComparer.Ordinal)
    {
        ["cache"] = "the Redis server, host:port[,password=…]",
        ["messaging"] = "the RabbitMQ broker, amqp://user:pass@host:port",
        ["accounts"] = "the PostgreSQL database of accounts and API keys, Host=…;Port=…;Username=…;Password=…;Database=…",
    };

    /// <summary>
    /// The one-line reason a service cannot start when one of <paramref name="names"/> is not configured (Aspire's client
    /// integrations would otherwise fail later, or the RabbitMQ client quietly try localhost:5672), or null.
    /// </summary>
    public static string? Missing(IConfiguration configuration, params string[] names)
    {
        foreach (var name in names)
        {
            if (string.IsNullOrWhiteSpace(configuration.GetConnectionString(name)))
            {
                return $"ConnectionStrings__{name} is not set: it names {What.GetValueOrDefault(name, "a server")}. "
                    + "The AppHost sets it; standalone, set the environment variable.";
            }
        }
        return null;
    }
}
