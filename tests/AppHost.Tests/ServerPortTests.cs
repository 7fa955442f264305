// The ports the AppHost picks for its servers, as the graph is built: held, so nothing else started in between — Aspire's
// own port picks for projects and worker replicas above all — can take one before its server binds it.
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using TestSupport;

namespace AppHost.Tests;

public sealed class ServerPortTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_server_port_is_taken_from_the_moment_the_graph_is_built()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--AppHost:GatewayPort=0", $"--AppHost:RunDirectory={AspireSystem.NewRunDirectory("apphost-ports")}"], Ct);
        var ports = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in new[] { "cache", "messaging", "postgres", "gateway" })
        {
            var resource = Assert.Single(builder.Resources, r => r.Name == name);
            ports[name] = Assert.Single(resource.Annotations.OfType<EndpointAnnotation>()).Port
                ?? throw new Xunit.Sdk.XunitException($"{name} has no port of its own");
        }
        // epmd's port is no endpoint of the model, only an argument of the process.
        var epmd = Assert.IsAssignableFrom<ExecutableResource>(Assert.Single(builder.Resources, r => r.Name == "messaging-epmd"));
        var args = await ArgumentsAsync(builder, epmd);
        ports["messaging-epmd"] = int.Parse(args[args.IndexOf("-port") + 1], CultureInfo.InvariantCulture);

        Assert.Equal(ports.Count, ports.Values.Distinct().Count());
        foreach (var (name, port) in ports)
        {
            // Asking for address reuse, as Go's net.Listen (Aspire's orchestrator) does: still refused.
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            var bind = Record.Exception(() => socket.Bind(new IPEndPoint(IPAddress.Loopback, port)));
            Assert.True(bind is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse },
                $"{name}'s port {port} could be bound by another process before {name} started ({bind?.Message ?? "bound"})");
        }
    }

    private static async Task<List<string>> ArgumentsAsync(IDistributedApplicationTestingBuilder builder, IResourceWithArgs resource)
    {
        var args = new List<object>();
        var context = new CommandLineArgsCallbackContext(args, resource, Ct) { ExecutionContext = builder.ExecutionContext };
        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        return args.ConvertAll(a => a.ToString()!);
    }
}
