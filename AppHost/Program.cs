// The Aspire.Inference application graph: `dotnet run --project AppHost [-- --workers N --gateways N --gateway-port P
// --bucket local|s3|azure --models DIR --run-dir DIR --containers]`; `-- --publisher manifest --output-path DIR` writes the
// deployment manifest (servers as containers, services as projects) that azd reads.
using AppHost;
using AppHost.Resources;

// A bare switch takes no value on the command line: give it one so the configuration provider accepts it.
args = [.. args.Select(a => a == "--containers" ? "--containers=true" : a)];
var builder = DistributedApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, AppHostSettings.Switches);

AppHostSettings settings;
try
{
    settings = builder.Configuration.GetSection(AppHostSettings.Section).Get<AppHostSettings>() ?? new AppHostSettings();
    settings.Validate();
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException)
{
    // A bad command-line value (--workers 0, --bucket ftp, --workers many): one line, not a stack trace.
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 2;
}

try
{
    var cache = builder.AddRedisServer("cache", settings);
    var messaging = builder.AddRabbitMQServer("messaging", settings);
    var models = builder.AddModelBucket("models", settings);
    // Accounts and API keys (the gateway owns the schema: its migrations run at its start).
    var accounts = builder.AddPostgreSqlDatabase("postgres", "accounts", settings);
    var adminKey = builder.AddParameter("modelsync-admin-key", settings.AdminKey, secret: true);
    // The gateway's operator API (accounts' limits); the same key as ModelSync's in a local run, its own secret when deployed.
    var accountsAdminKey = builder.AddParameter("accounts-admin-key", settings.AdminKey, secret: true);

    var modelsync = builder.AddProject<Projects.ModelSync>("modelsync")
        .WithHttpEndpoint()
        .WithHttpHealthCheck("/health")
        .WithReference(cache).WithReference(messaging).WithReference(models)
        .WithEnvironment("ModelSync__AdminKey", adminKey)
        .WaitFor(cache).WaitFor(messaging).WaitFor(models)
        .WithRestartPolicy(livenessPath: "/alive");

    // CPU replicas of one `worker`, or with --gpus one worker per GPU (AppHost/Resources/WorkerExtensions.cs).
    var workers = builder.AddWorkers(settings, cache, messaging, models);

    // The gateway learns the models from what ModelSync publishes in Redis: it needs no access to the bucket.
    // One replica listens on the port itself; several sit behind Aspire's proxy, which spreads connections over them
    // (clients connect WebSockets-only, so a SignalR connection never needs two requests to reach the same replica).
    var gateway = builder.AddProject<Projects.Gateway>("gateway")
        .WithGatewayEndpoint(settings)
        .WithExternalHttpEndpoints()
        .WithHttpHealthCheck("/health")
        .WithReference(cache).WithReference(messaging).WithReference(accounts)
        .WithEnvironment("Accounts__AdminKey", accountsAdminKey)
        .WaitFor(cache).WaitFor(messaging).WaitFor(accounts)
        .WithReplicas(settings.Gateways)
        .WithRestartPolicy(livenessPath: "/alive");
    if (builder.ExecutionContext.IsRunMode)
    {
        // The development account, so a local system works with nothing to register (never published: a deployment has none).
        gateway.WithEnvironment("Accounts__DevelopmentKey", builder.AddParameter("dev-api-key", settings.ApiKey, secret: true));
    }

    foreach (var (name, value) in settings.ServiceEnvironment)
    {
        foreach (var service in (IResourceBuilder<ProjectResource>[])[modelsync, .. workers, gateway])
        {
            service.WithEnvironment(name, value);
        }
    }

    builder.AddModelResources(modelsync, settings.ModelTree, settings.AdminKey);
    builder.AddRunSummary(settings, gateway, modelsync);
}
catch (MissingPrerequisiteException e)
{
    Console.Error.WriteLine($"apphost: {e.Message}");
    return 1;
}

await builder.Build().RunAsync();
return 0;
