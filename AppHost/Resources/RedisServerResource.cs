// A local redis-server as an Aspire resource (run mode without containers); Aspire.Hosting.Redis's container otherwise.
using System.Globalization;

namespace AppHost.Resources;

/// <summary><c>redis-server</c> with append-only persistence in its own data folder, on a port of its own.</summary>
public sealed class RedisServerResource(string name, string command, string dataDirectory)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference PrimaryEndpoint => field ??= new(this, EndpointName);

    /// <summary><c>127.0.0.1:port</c>: the server binds to IPv4 loopback only, so no client tries <c>::1</c> first.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}

public static class RedisServerResourceExtensions
{
    public static IResourceBuilder<IResourceWithConnectionString> AddRedisServer(this IDistributedApplicationBuilder builder, string name, AppHostSettings settings)
    {
        if (builder.ExecutionContext.IsPublishMode || settings.Containers)
        {
            // A named volume: the default name carries a hash of the AppHost's path, so a clone elsewhere would get an empty one.
            return builder.AddRedis(name).WithDataVolume($"{name}-data").WithPersistence();
        }

        var command = Prerequisites.Require(name, settings.Executable("redis-server", "redis-server"),
            "sudo apt-get install -y redis-server (or run scripts/setup.sh)");
        var port = PortAllocator.GetFreePort();
        var data = Directory.CreateDirectory(Path.Combine(settings.RunFolder, name)).FullName;
        var healthCheck = $"{name}-ping";
        builder.Services.AddHealthChecks().AddCheck(healthCheck, new RedisPingHealthCheck(port));
        return builder.AddResource(new RedisServerResource(name, command, data))
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: RedisServerResource.EndpointName, isProxied: false)
            .ReleasingHeldPorts(port)
            .WithArgs(
                "--port", port.ToString(CultureInfo.InvariantCulture),
                "--bind", "127.0.0.1",
                "--dir", data,
                "--appendonly", "yes",
                "--save", "",
                "--daemonize", "no",
                "--logfile", "")
            .WithIconName("Database")
            .WithHealthCheck(healthCheck);
    }
}
