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
