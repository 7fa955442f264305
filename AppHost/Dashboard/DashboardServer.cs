using System.Reflection;
using AppHost.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR;

namespace AppHost.Dashboard;

/// <summary>
/// The AppHost's dashboard: a small web app on 127.0.0.1 with one page (resources, console logs,
/// metrics, commands) kept live over SignalR. Started next to a <see cref="DistributedApplication"/>.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private const string HubPath = "/hubs/dashboard";

    private readonly WebApplication _web;
    private readonly DashboardSignIn _signIn;

    private DashboardServer(WebApplication web, DashboardSignIn signIn, Uri url)
    {
        _web = web;
        _signIn = signIn;
        Url = url;
    }

    /// <summary>Where the dashboard listens, e.g. <c>http://127.0.0.1:18888/</c>.</summary>
    public Uri Url { get; }

    public bool RequiresSignIn => _signIn.IsEnabled;

    public string BrowserToken => _signIn.Token;

    /// <summary>The URL to open: signs the browser in when sign-in is on.</summary>
    public Uri LoginUrl => RequiresSignIn ? new Uri(Url, $"login?t={BrowserToken}") : Url;

    public static async Task<DashboardServer> StartAsync(DistributedApplication app, DashboardOptions options, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(DashboardServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, options.Port));
        builder.Services.AddSingleton(app);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<DashboardSignIn>();
        builder.Services.AddSingleton<DashboardSampler>();
        builder.Services.AddSingleton<ModelAdminClient>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DashboardSampler>());
        builder.Services.AddHostedService<DashboardLogFeed>();
        builder.Services.AddSignalR()
            .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));

        var web = builder.Build();
        var signIn = web.Services.GetRequiredService<DashboardSignIn>();
        web.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/login") || signIn.IsSignedIn(context))
            {
                await next(context);
            }
            else if (context.Request.Path.StartsWithSegments("/hubs") || context.Request.Path.StartsWithSegments("/lib"))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            }
            else
            {
                context.Response.Redirect("/login");
            }
        });
        web.MapGet("/login", (HttpContext context, string? t) =>
        {
            if (signIn.TrySignIn(context, t) || (t is null && signIn.IsSignedIn(context) && signIn.IsEnabled))
            {
                return Results.Redirect("/");
            }
            return Results.Content(Asset("login.html"), "text/html; charset=utf-8", statusCode: t is null ? 200 : 401);
        });
        web.MapGet("/", () => Results.Content(Asset("index.html"), "text/html; charset=utf-8"));
        web.MapGet("/dashboard.js", () => Results.Content(Asset("dashboard.js"), "text/javascript; charset=utf-8"));
        web.MapGet("/lib/signalr/signalr.min.js", () =>
        {
            // The stock @microsoft/signalr bundle that setup places for the gateway's browser client.
            var path = Path.Combine(Projects.RepositoryInfo.Root, "Gateway", "wwwroot", "lib", "signalr", "signalr.min.js");
            return File.Exists(path) ? Results.File(path, "text/javascript") : Results.NotFound();
        });
        web.MapHub<DashboardHub>(HubPath);

        await web.StartAsync(cancellationToken);
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DashboardServer(web, signIn, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync(TimeSpan.FromSeconds(5));
        await _web.DisposeAsync();
    }

    private static string Asset(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Dashboard.{name}")
            ?? throw new InvalidOperationException($"Dashboard asset {name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>Pushes resource changes to every page and console lines to the pages watching that replica.</summary>
internal sealed class DashboardLogFeed(DistributedApplication app, IHubContext<DashboardHub> hub) : IHostedService
{
    private readonly Dictionary<string, (ConsoleLog Log, Action<LogLine> Handler)> _attached = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        app.Model.Changed += OnChanged;
        app.Model.Removed += OnRemoved;
        foreach (var snapshot in app.Model.Snapshots)
        {
            Attach(snapshot.Name);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        app.Model.Changed -= OnChanged;
        app.Model.Removed -= OnRemoved;
        lock (_gate)
        {
            // The application may outlive this dashboard (tests start more than one): let go of its logs.
            foreach (var (log, handler) in _attached.Values)
            {
                log.LineWritten -= handler;
            }
            _attached.Clear();
        }
        return Task.CompletedTask;
    }

    private void OnChanged(ResourceSnapshot snapshot)
    {
        Attach(snapshot.Name);
        _ = hub.Clients.All.SendAsync("resource", snapshot);
    }

    private void OnRemoved(string replica)
    {
        lock (_gate)
        {
            if (_attached.Remove(replica, out var attached))
            {
                attached.Log.LineWritten -= attached.Handler;
            }
        }
        _ = hub.Clients.All.SendAsync("resourceRemoved", replica);
    }

    private void Attach(string replica)
    {
        lock (_gate)
        {
            if (_attached.ContainsKey(replica))
            {
                return;
            }
            try
            {
                var log = app.GetConsoleLog(replica);
                Action<LogLine> handler = line => _ = hub.Clients.Group(DashboardHub.LogGroup(replica)).SendAsync("log", line);
                log.LineWritten += handler;
                _attached[replica] = (log, handler);
            }
            catch (ArgumentException)
            {
                // The replica is being created; its next change attaches it.
            }
        }
    }
}
