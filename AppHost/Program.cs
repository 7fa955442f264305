using System.Runtime.InteropServices;
using AppHost;
using AppHost.Hosting;
using Microsoft.Extensions.Configuration;

// dotnet run --project AppHost [-- --workers N --gateways N --gateway-port P]
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables()
    .AddCommandLine(args, new Dictionary<string, string>
    {
        ["--workers"] = "AppHost:Workers",
        ["--gateways"] = "AppHost:Gateways",
        ["--gateway-port"] = "AppHost:GatewayPort",
        ["--models"] = "AppHost:Models",
    })
    .Build();

AppModelOptions model;
DistributedApplicationOptions options;
try
{
    model = configuration.GetSection("AppHost").Get<AppModelOptions>() ?? new AppModelOptions();
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

await using var app = AppModel.Configure(new DistributedApplicationBuilder(options), model).Build();

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

try
{
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

Console.WriteLine("apphost: stopping");
await app.StopAsync();
Console.WriteLine("apphost: stopped");
return 0;
