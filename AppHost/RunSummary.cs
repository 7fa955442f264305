using AppHost.Resources;
using Microsoft.Extensions.Logging;

namespace AppHost;

public static class RunSummaryExtensions
{
    /// <summary>Environment variable set on every process the AppHost starts: its run folder, for operators and leak checks.</summary>
    public const string RunMarkerVariable = "ASPIRE_INFERENCE_APPHOST_RUN";

    /// <summary>
    /// Marks every process with <see cref="RunMarkerVariable"/> and, once the gateway and ModelSync are healthy, logs where
    /// to reach them (Aspire itself prints the dashboard's login link).
    /// </summary>
    public static void AddRunSummary(this IDistributedApplicationBuilder builder, AppHostSettings settings,
        IResourceBuilder<ProjectResource> gateway, IResourceBuilder<ProjectResource> modelsync)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return;
        }
        builder.Eventing.Subscribe<BeforeStartEvent>((e, _) =>
        {
            foreach (var resource in e.Model.Resources.OfType<IResourceWithEnvironment>())
            {
                resource.Annotations.Add(new EnvironmentCallbackAnnotation(context => context.EnvironmentVariables[RunMarkerVariable] = settings.RunFolder));
            }
            return Task.CompletedTask;
        });
        builder.Eventing.Subscribe<ResourceReadyEvent>(gateway.Resource, (e, cancellationToken) =>
        {
            var log = e.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AppHost");
            log.LogInformation("Gateway ready: {Url} (the browser client at /, REST at /v1, OIP at /v2, SignalR at /hubs/inference)", gateway.GetEndpoint("http").Url);
            log.LogInformation("Development API key: {ApiKey} (send Authorization: Bearer <key>; the CLI reads ASPIRE_INFERENCE_API_KEY); the page with it: {Url}/#key={ApiKey}",
                settings.ApiKey, gateway.GetEndpoint("http").Url, settings.ApiKey);
            log.LogInformation("ModelSync admin API: {Url}/admin/models with header X-Admin-Key: {AdminKey}", modelsync.GetEndpoint("http").Url, settings.AdminKey);
            log.LogInformation("Accounts admin API: {Url}/v1/admin/accounts/{{id}}/limits with the same X-Admin-Key", gateway.GetEndpoint("http").Url);
            log.LogInformation("Run folder {RunFolder}; Ctrl+C stops everything", settings.RunFolder);
            // The table scripts read (bench/cost.py, scripts/lib.sh): every replica's pid and own endpoint, once all are up.
            _ = Task.Run(() => PrintTableAsync(e.Services, gateway, cancellationToken), CancellationToken.None);
            return Task.CompletedTask;
        });
    }

    private static async Task PrintTableAsync(IServiceProvider services, IResourceBuilder<ProjectResource> gateway, CancellationToken cancellationToken)
    {
        var notifications = services.GetRequiredService<ResourceNotificationService>();
        var model = services.GetRequiredService<DistributedApplicationModel>();
        var processes = model.Resources.Where(r => r is ProjectResource || (r is ExecutableResource && !r.GetType().Name.Contains("Rebuilder", StringComparison.Ordinal))).ToList();
        try
        {
            foreach (var resource in processes.OfType<ProjectResource>())
            {
                await notifications.WaitForResourceHealthyAsync(resource.Name, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        // WatchAsync starts with the current state of every replica: a moment of it is the whole table.
        var current = new Dictionary<string, ResourceEvent>(StringComparer.Ordinal);
        using (var moment = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            moment.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                await foreach (var change in notifications.WatchAsync(moment.Token))
                {
                    current[change.ResourceId] = change;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
        }
        var lines = new List<string> { "apphost: all resources running" };
        foreach (var (id, change) in current.Where(c => processes.Contains(c.Value.Resource)).OrderBy(c => processes.IndexOf(c.Value.Resource)).ThenBy(c => c.Key, StringComparer.Ordinal))
        {
            var s = change.Snapshot;
            var pid = s.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value;
            var endpoint = s.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value?.Split(';')[0]
                ?? s.Urls.FirstOrDefault()?.Url.Replace("localhost", "127.0.0.1", StringComparison.Ordinal);
            lines.Add($"  {id,-24} {(change.Resource is ProjectResource ? "Project" : "Executable"),-10} {s.State?.Text,-8} pid {pid,-7} {endpoint}");
        }
        foreach (var resource in model.Resources.OfType<IResourceWithConnectionString>().Where(r => r is ExecutableResource))
        {
            lines.Add($"  ConnectionStrings__{resource.Name}={await resource.GetConnectionStringAsync(cancellationToken)}");
        }
        lines.Add($"  gateway: {gateway.GetEndpoint("http").Url}");
        Console.Out.WriteLine(string.Join(Environment.NewLine, lines));
    }
}
