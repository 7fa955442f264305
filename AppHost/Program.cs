using System.Runtime.InteropServices;
using AppHost;
using AppHost.Dashboard;
using AppHost.Hosting;
using Microsoft.Extensions.Configuration;

// dotnet run --project AppHost [-- --workers N --gateways N --gateway-port P --bucket local|s3 --models DIR --dashboard-port P --dashboard-unsecured]
// A bare --dashboard-unsecured is a switch: give it a value so the command-line provider accepts it.
args = args.Select(a => a == "--dashboard-unsecured" ? "--dashboard-unsecured=true" : a).ToArray();
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables()
    .AddCommandLine(args, new Dictionary<string, string>
    {
        ["--dashboard-port"] = "Dashboard:Port",
        ["--dashboard-unsecured"] = "Dashboard:Unsecured",
        ["--workers"] = "AppHost:Workers",
        ["--gateways"] = "AppHost:Gateways",
        ["--gateway-port"] = "AppHost:GatewayPort",
        ["--models"] = "AppHost:Models",
        ["--bucket"] = "AppHost:ModelBucket",
    })
    .Build();

AppModelOptions model;
DistributedApplicationOptions options;
DashboardOptions dashboardOptions;
try
{
    model = configuration.GetSection("AppHost").Get<AppModelOptions>() ?? new AppModelOptions();
    if (model.ModelBucket.ToLowerInvariant() is not ("local" or "s3"))
    {
        throw new InvalidOperationException($"--bucket takes 'local' or 's3', not '{model.ModelBucket}'.");
    }
    dashboardOptions = configuration.GetSection("Dashboard").Get<DashboardOptions>() ?? new DashboardOptions();
    // Aspire's switch for the same thing.
    dashboardOptions.Unsecured |= configuration["ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS"] is "true" or "True" or "1";
    options = new DistributedApplicationOptions
    {
        RunDirectory = configuration["AppHost:RunDirectory"] ?? Path.Combine(Projects.RepositoryInfo.Root, ".run", "apphost"),
        ConsoleEcho = Console.Out,
        Environment = configuration["DOTNET_ENVIRONMENT"] ?? "Development",
        OtlpEndpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"],
        Executables = configuration.GetSection("AppHost:Executables").GetChildren()
            .Where(c => c.Value is not null).ToDictionary(c => c.Key, c => c.Value!),
    };
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 2;
}

DistributedApplication built;
try
{
    built = AppModel.Configure(new DistributedApplicationBuilder(options), model).Build();
}
catch (ArgumentException e)
{
    // A bad command-line value (--workers 0, --bucket ftp): one line, not a stack trace.
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 2;
}
await using var app = built;

using var shutdown = new CancellationTokenSource();
void OnSignal(PosixSignalContext context)
{
    // A terminal's Ctrl+C reaches the whole process group: mark shutdown first so exits are not seen as crashes.
    context.Cancel = true;
    app.BeginShutdown();
    shutdown.Cancel();
}
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

DashboardServer? dashboard = null;
try
{
    try
    {
        dashboard = await DashboardServer.StartAsync(app, dashboardOptions, shutdown.Token);
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"apphost: dashboard: port {dashboardOptions.Port} is not available ({e.Message}); pick another with --dashboard-port (0 for a free one)");
        return 1;
    }
    var dashboardUrl = dashboard.LoginUrl.ToString().Replace("127.0.0.1", "localhost", StringComparison.Ordinal);
    Console.WriteLine($"apphost: dashboard: {dashboardUrl}");
    Console.WriteLine($"apphost: starting {string.Join(", ", app.Resources.Select(r => r.Name))} (run folder {options.RunDirectory})");
    await app.StartAsync(shutdown.Token);
    Console.WriteLine();
    Console.WriteLine("apphost: all resources running");
    foreach (var s in app.Model.Snapshots)
    {
        Console.WriteLine($"  {s.Name,-12} {s.Kind,-9} {s.State,-8} pid {s.Pid,-7} {string.Join(" ", s.Endpoints)}");
    }
    foreach (var name in new[] { "cache", "messaging", "models" })
    {
        Console.WriteLine($"  ConnectionStrings__{name}={app.GetConnectionString(name)}");
    }
    Console.WriteLine($"  modelsync admin: {app.GetEndpoint("modelsync")}admin/models  X-Admin-Key: {model.AdminKey}");
    Console.WriteLine($"  gateway: {app.GetEndpoint("gateway")}  (Ctrl+C stops everything)");
    Console.WriteLine($"  dashboard: {dashboardUrl}");
    Console.WriteLine();
    await Task.Delay(Timeout.Infinite, shutdown.Token).ContinueWith(_ => { }, TaskScheduler.Default);
}
catch (MissingPrerequisiteException e)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
{
}
catch (Exception e) when (e is TimeoutException or InvalidOperationException)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    await app.StopAsync();
    return 1;
}
finally
{
    if (dashboard is not null)
    {
        await dashboard.DisposeAsync();
    }
}

Console.WriteLine("apphost: stopping");
await app.StopAsync();
Console.WriteLine("apphost: stopped");
return 0;
