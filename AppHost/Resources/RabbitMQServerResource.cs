// A private RabbitMQ node as an Aspire resource (run mode without containers); Aspire.Hosting.RabbitMQ's container otherwise.
using System.Globalization;

namespace AppHost.Resources;

/// <summary>
/// A RabbitMQ node of its own: node name, ports, Mnesia folder and epmd port are private, so it never meets a system
/// RabbitMQ or another AppHost's. epmd runs as a resource of its own in the foreground (the VM's <c>epmd -daemon</c>
/// would outlive the node).
/// </summary>
public sealed class RabbitMQServerResource(string name, string command, string dataDirectory)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference PrimaryEndpoint => field ??= new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"amqp://guest:guest@127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}

public static class RabbitMQServerResourceExtensions
{
    public static IResourceBuilder<IResourceWithConnectionString> AddRabbitMQServer(this IDistributedApplicationBuilder builder, string name, AppHostSettings settings)
    {
        if (builder.ExecutionContext.IsPublishMode || settings.Containers)
        {
            return builder.AddRabbitMQ(name).WithDataVolume($"{name}-data");
        }

        const string installHint = "sudo apt-get install -y rabbitmq-server (or run scripts/setup.sh)";
        var command = Prerequisites.Require(name, settings.Executable("rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server"), installHint);
        var epmdCommand = Prerequisites.Require($"{name}-epmd", settings.Executable("epmd", "epmd"), installHint);
        var port = PortAllocator.GetFreePort();
        var epmdPort = PortAllocator.GetFreePort();
        var distributionPort = PortAllocator.GetFreePort();
        var data = Directory.CreateDirectory(Path.Combine(settings.RunFolder, name)).FullName;
        Directory.CreateDirectory(Path.Combine(data, "mnesia"));
        Directory.CreateDirectory(Path.Combine(data, "log"));
        File.WriteAllText(Path.Combine(data, "enabled_plugins"), "[].\n");
        File.WriteAllText(Path.Combine(data, "rabbitmq-env.conf"), "");
        File.WriteAllText(Path.Combine(data, "rabbitmq.conf"), $"""
            listeners.tcp.default = 127.0.0.1:{port}
            loopback_users = none
            log.console = true
            log.console.level = warning
            log.file = false

            """);

        var epmdCheck = $"{name}-epmd-names";
        builder.Services.AddHealthChecks().AddCheck(epmdCheck, new EpmdHealthCheck(epmdPort));
        var epmd = builder.AddExecutable($"{name}-epmd", epmdCommand, data,
                "-port", epmdPort.ToString(CultureInfo.InvariantCulture), "-address", "127.0.0.1")
            .ReleasingHeldPorts(epmdPort)
            .WithIconName("PlugConnected")
            .WithHealthCheck(epmdCheck);

        var amqpCheck = $"{name}-amqp";
        builder.Services.AddHealthChecks().AddCheck(amqpCheck, new AmqpHandshakeHealthCheck(port));
        var rabbit = builder.AddResource(new RabbitMQServerResource(name, command, data))
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: RabbitMQServerResource.EndpointName, isProxied: false)
            .ReleasingHeldPorts(port, distributionPort)
            .WithEnvironment("RABBITMQ_NODENAME", $"{name}-{port.ToString(CultureInfo.InvariantCulture)}@localhost")
            .WithEnvironment("RABBITMQ_NODE_PORT", port.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("RABBITMQ_DIST_PORT", distributionPort.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("ERL_EPMD_PORT", epmdPort.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("RABBITMQ_MNESIA_BASE", Path.Combine(data, "mnesia"))
            .WithEnvironment("RABBITMQ_LOG_BASE", Path.Combine(data, "log"))
            .WithEnvironment("RABBITMQ_ENABLED_PLUGINS_FILE", Path.Combine(data, "enabled_plugins"))
            .WithEnvironment("RABBITMQ_CONFIG_FILE", Path.Combine(data, "rabbitmq"))
            .WithEnvironment("RABBITMQ_CONF_ENV_FILE", Path.Combine(data, "rabbitmq-env.conf"))
            .WithEnvironment("RABBITMQ_PID_FILE", Path.Combine(data, "rabbitmq.pid"))
            // The Erlang cookie lives in $HOME: a private HOME keeps it away from the user's.
            .WithEnvironment("HOME", data)
            // Makes the start script exec the VM, so the process Aspire supervises is beam.smp and SIGTERM stops the node cleanly.
            .WithEnvironment("RUNNING_UNDER_SYSTEMD", "true")
            .WithIconName("Mail")
            .WithHealthCheck(amqpCheck)
            .WaitFor(epmd);
        epmd.WithParentRelationship(rabbit);
        return rabbit;
    }
}
