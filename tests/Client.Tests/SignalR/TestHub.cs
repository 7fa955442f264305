// The real ASP.NET Core SignalR server the client is tested against, hosted on Kestrel at 127.0.0.1:0.
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Client.Tests.SignalR;

public sealed class TestHub : Hub
{
    public string Echo(string text) => text;

    public int Add(int a, int b) => a + b;

    public void Nothing()
    {
    }

    public void Fail() => throw new HubException("nope");

    public Task Notify(string text) => Clients.Caller.SendAsync("Notified", text);

    public int Length(byte[] data) => data.Length;

    public byte[] EchoBytes(byte[] data) => data;

    public async Task SendThree()
    {
        await Clients.Caller.SendAsync("Counted", 1);
        await Clients.Caller.SendAsync("Counted", 2);
        await Clients.Caller.SendAsync("Counted", 3);
    }

    public Task SendPair(string name, int count) => Clients.Caller.SendAsync("Pair", name, count);

    public string? Authorization() => Context.GetHttpContext()?.Request.Headers.Authorization;

    public void Abort() => Context.Abort();

    /// <summary>Drops the TCP connection without a Close message, as a crash or network failure would.</summary>
    public void Drop() => Context.GetHttpContext()!.Abort();

    /// <summary>Asks the caller for a client result and reports what came back.</summary>
    public async Task<string> AskCaller()
    {
        try
        {
            return await Clients.Caller.InvokeAsync<string>("Question", Context.ConnectionAborted);
        }
        catch (Exception e)
        {
            return "failed: " + e.Message;
        }
    }

    public async Task<string> Stall()
    {
        await Task.Delay(Timeout.Infinite, Context.ConnectionAborted);
        return "unreachable";
    }
}

public sealed class HubServer : IAsyncLifetime
{
    public const int MaximumReceiveMessageSize = 4 * 1024 * 1024;

    private WebApplication? _app;

    public Uri BaseUrl { get; private set; } = null!;

    public Uri HubUrl => new(BaseUrl, "/hubs/test");

    public ValueTask InitializeAsync() => new(ListenAsync(port: 0));

    /// <summary>A server of its own, e.g. to stop and start again on the same port.</summary>
    public static async Task<HubServer> StartAsync(int port)
    {
        var server = new HubServer();
        await server.ListenAsync(port);
        return server;
    }

    private async Task ListenAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.Logging.ClearProviders();
        builder.Services
            .AddSignalR(signalR =>
            {
                signalR.MaximumReceiveMessageSize = MaximumReceiveMessageSize;
                // Lets a test abort the connection while another invocation is still running.
                signalR.MaximumParallelInvocationsPerClient = 4;
            });

        _app = builder.Build();
        _app.MapHub<TestHub>("/hubs/test");
        // Negotiate responses a SignalR service (or a broken one) may give instead of a connection.
        _app.MapPost("/redirect/negotiate", () => Results.Json(new { url = HubUrl.ToString(), accessToken = "redirected" }));
        _app.MapPost("/refuse/negotiate", () => Results.Json(new { error = "go away" }));
        await _app.StartAsync();

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        BaseUrl = new Uri(addresses.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
