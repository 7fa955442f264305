namespace AppHost.Resources;

public static class GatewayEndpointExtensions
{
    /// <summary>
    /// The gateway's public HTTP endpoint on <see cref="AppHostSettings.GatewayPort"/> (0: a free one). With one replica it is not
    /// proxied: every job's connection goes straight to the gateway, one hop less on the hot path than through Aspire's proxy.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithGatewayEndpoint(this IResourceBuilder<ProjectResource> gateway, AppHostSettings settings)
    {
        var builder = gateway.ApplicationBuilder;
        if (!builder.ExecutionContext.IsRunMode)
        {
            return gateway.WithHttpEndpoint(port: settings.GatewayPort == 0 ? null : settings.GatewayPort);
        }
        if (settings.GatewayPort != 0 && !PortAllocator.IsFree(settings.GatewayPort))
        {
            throw new MissingPrerequisiteException(
                $"gateway: port {settings.GatewayPort} is already in use; stop what holds it or pick another port (--gateway-port 0 for a free one)");
        }
        var proxied = settings.Gateways > 1;
        if (settings.GatewayPort != 0 || proxied)
        {
            return gateway.WithHttpEndpoint(port: settings.GatewayPort != 0 ? settings.GatewayPort : null, isProxied: proxied);
        }
        var port = PortAllocator.GetFreePort();
        return gateway.WithHttpEndpoint(port: port, isProxied: false).ReleasingHeldPorts(port);
    }
}
