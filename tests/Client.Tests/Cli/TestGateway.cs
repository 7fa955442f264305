// A real Kestrel + SignalR server in-process standing in for a gateway: one hub at /hubs/inference, with the gateway's protocols.
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ServiceDefaults.Push;

namespace Client.Tests.Cli;

public static class TestGateway
{
    /// <summary>Starts <typeparamref name="THub"/> on 127.0.0.1:<paramref name="port"/> (0: any free port).</summary>
    public static async Task<WebApplication> StartAsync<THub>(int port = 0, Action<IServiceCollection>? services = null)
        where THub : Hub
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        // The gateway's protocols, and room for an image (the default limit is 32 KB).
        builder.Services.AddSignalR(o => o.MaximumReceiveMessageSize = 4 * 1024 * 1024).AddInferenceHubProtocols();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapHub<THub>("/hubs/inference");
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    public static Uri Address(WebApplication app) => new(app.Urls.First());

    /// <summary>A client of <paramref name="app"/> speaking <paramref name="protocol"/>, connected.</summary>
    public static Task<InferenceClient> ConnectAsync(WebApplication app, HubProtocol protocol) =>
        InferenceClient.ConnectAsync(Address(app), new InferenceClientOptions { Protocol = protocol }, TestContext.Current.CancellationToken);
}
