// Each model of the bucket as a resource on Aspire's dashboard: its state and properties follow ModelSync's view
// (versions, desired, pinned, what each worker serves, the rollout), and pin / roll back are resource commands.
using System.Net.Http.Json;
using System.Text.Json;
using Contracts.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppHost.Resources;

public sealed class ModelResource(string name, string model) : Resource(name)
{
    /// <summary>The model's name in the bucket and in ModelSync's admin API.</summary>
    public string Model { get; } = model;
}

public static class ModelResourceExtensions
{
    internal const string WaitingState = "Waiting for ModelSync";

    /// <summary>
    /// A <see cref="ModelResource"/> (named <c>model-{name}</c>) under <paramref name="modelsync"/> for every model folder of
    /// <paramref name="modelTree"/>, kept current from ModelSync's admin API. Run mode only: they describe state, not something to deploy.
    /// </summary>
    public static IDistributedApplicationBuilder AddModelResources(
        this IDistributedApplicationBuilder builder, IResourceBuilder<ProjectResource> modelsync, string modelTree, string adminKey)
    {
        if (!builder.ExecutionContext.IsRunMode || !Directory.Exists(modelTree))
        {
            return builder;
        }

        var admin = new ModelAdminClient(modelsync.GetEndpoint("http"), adminKey);
        var resources = new List<ModelResource>();
        foreach (var model in Directory.EnumerateDirectories(modelTree).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            if (ResourceName(model!) is not { } name)
            {
                continue; // a folder whose name no resource may have: the model still works, it just has no row here
            }
            var resource = builder.AddResource(new ModelResource(name, model!))
                .WithParentRelationship(modelsync)
                .WithIconName("BrainCircuit")
                .WithInitialState(new CustomResourceSnapshot
                {
                    ResourceType = "Model",
                    State = WaitingState,
                    Properties = [new(CustomResourceKnownProperties.Source, model!)],
                })
                .WithCommand("rollback", "Roll back", context => admin.RollbackAsync(model!, context.CancellationToken), new CommandOptions
                {
                    Description = "Pin the newest valid version older than the desired one; workers roll over to it one at a time.",
                    ConfirmationMessage = $"Roll {model} back to its previous valid version?",
                    IconName = "ArrowUndo",
                    IsHighlighted = true,
                    UpdateState = Enabled,
                })
                .WithCommand("pin", "Pin version", context => admin.PinAsync(model!, context.Arguments, context.CancellationToken), new CommandOptions
                {
                    Description = "Make one valid version the desired one, whatever is newer.",
                    IconName = "Pin",
                    Arguments = [new InteractionInput { Name = "version", Label = "Version", InputType = InputType.Number, Required = true }],
                    UpdateState = Enabled,
                })
                .ExcludeFromManifest();
            resources.Add(resource.Resource);
        }

        builder.Services.AddHostedService(services => new ModelStatusPublisher(
            admin, resources, services.GetRequiredService<ResourceNotificationService>(), services.GetRequiredService<ILogger<ModelStatusPublisher>>()));
        return builder;
    }

    private static ResourceCommandState Enabled(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == WaitingState ? ResourceCommandState.Disabled : ResourceCommandState.Enabled;

    private static string? ResourceName(string model)
    {
        var name = "model-" + new string(model.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());
        return name.Contains("--", StringComparison.Ordinal) || name.EndsWith('-') || name.Length > 64 ? null : name;
    }
}

/// <summary>Polls ModelSync's admin API and publishes each model's state and properties to Aspire's resource model.</summary>
internal sealed class ModelStatusPublisher(
    ModelAdminClient admin, IReadOnlyList<ModelResource> resources, ResourceNotificationService notifications, ILogger<ModelStatusPublisher> log)
    : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        // What each resource was last published from: a model whose view has not changed is not published again (every
        // update reaches every watcher: the dashboard, the restart policy, a test's waits — ten models, once a second).
        var published = new Dictionary<string, string>(StringComparer.Ordinal);
        do
        {
            if (await admin.ListAsync(stoppingToken) is not { } models)
            {
                continue; // ModelSync not up yet, or restarting: the resources keep their last view
            }
            foreach (var resource in resources)
            {
                var view = models.FirstOrDefault(m => m.Name == resource.Model);
                var seen = JsonSerializer.Serialize(view, ModelAdminClient.Json);
                if (published.TryGetValue(resource.Name, out var last) && last == seen)
                {
                    continue;
                }
                published[resource.Name] = seen;
                await notifications.PublishUpdateAsync(resource, snapshot => Describe(snapshot, view));
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        log.LogDebug("Model status publishing stopped");
    }

    internal static CustomResourceSnapshot Describe(CustomResourceSnapshot snapshot, AdminModel? model)
    {
        if (model is null)
        {
            return snapshot with { State = new ResourceStateSnapshot("Not published", KnownResourceStateStyles.Warn) };
        }
        var servingVersions = model.Serving.Values.Distinct().ToList();
        var rollout = model.Rollout;
        ResourceStateSnapshot state = model.Desired is not { } desired
            ? new("No valid version", KnownResourceStateStyles.Error)
            : servingVersions is [var only] && only == desired
                ? new($"Serving v{desired}", KnownResourceStateStyles.Success)
                : rollout?.State == ModelRolloutStates.Running
                    ? new($"Rolling out v{rollout.To}", KnownResourceStateStyles.Info)
                    : model.Serving.Count == 0
                        ? new($"v{desired}, no worker serving", KnownResourceStateStyles.Warn)
                        : new($"v{desired} desired", KnownResourceStateStyles.Info);
        return snapshot with
        {
            State = state,
            Properties = WithProperties(snapshot.Properties, [
                new("model.desired", model.Desired?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"),
                new("model.pinned", model.Pinned?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"),
                new("model.versions", string.Join(", ", model.Versions.OrderBy(v => v.Key).Select(v =>
                    $"v{v.Key} {v.Value.State}{(v.Value.Reason is { Length: > 0 } r ? $" ({r})" : "")}"))),
                new("model.serving", string.Join(", ", model.Serving.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s =>
                    $"{s.Key}: {(s.Value is { } v ? $"v{v}" : "not serving")}"))),
                new("model.rollout", rollout is null ? "none"
                    : $"{rollout.State} v{rollout.From?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "–"} → v{rollout.To}, {rollout.Done.Count} worker(s) done{(rollout.Message is { } m ? $": {m}" : "")}"),
                // What KEDA scales the workers on in a deployment: the queue's ready and unacknowledged jobs.
                new("model.queue", model.Queue is { } q ? $"{q.Length} ({q.Ready} ready, {q.Unacknowledged} at workers)" : "unknown"),
            ]),
        };
    }

    private static System.Collections.Immutable.ImmutableArray<ResourcePropertySnapshot> WithProperties(
        System.Collections.Immutable.ImmutableArray<ResourcePropertySnapshot> properties, ResourcePropertySnapshot[] updates)
    {
        var names = updates.Select(u => u.Name).ToHashSet(StringComparer.Ordinal);
        return [.. properties.Where(p => !names.Contains(p.Name)), .. updates];
    }
}

/// <summary>ModelSync's admin API (<c>/admin/models</c>) as the dashboard's model commands use it.</summary>
internal sealed class ModelAdminClient(EndpointReference modelsync, string adminKey)
{
    private const string KeyHeader = "X-Admin-Key";
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http = new()
    {
        Timeout = TimeSpan.FromSeconds(5),
        DefaultRequestHeaders = { { "User-Agent", Contracts.Telemetry.AppHostUserAgent } },
    };

    public async Task<IReadOnlyList<AdminModel>?> ListAsync(CancellationToken cancellationToken)
    {
        if (!modelsync.IsAllocated)
        {
            return null;
        }
        try
        {
            using var request = Request(HttpMethod.Get, "admin/models");
            using var response = await _http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<AdminModel[]>(Json, cancellationToken) : null;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return null;
        }
    }

    public Task<ExecuteCommandResult> RollbackAsync(string model, CancellationToken cancellationToken) =>
        CommandAsync($"admin/models/{Uri.EscapeDataString(model)}/rollback", m => $"{model}: rolled back; version {m.Desired} is pinned as desired.", cancellationToken);

    public Task<ExecuteCommandResult> PinAsync(string model, InteractionInputCollection? arguments, CancellationToken cancellationToken)
    {
        var given = arguments is not null && arguments.TryGetByName("version", out var input) ? input.Value : null;
        return int.TryParse(given, System.Globalization.CultureInfo.InvariantCulture, out var version) && version > 0
            ? CommandAsync($"admin/models/{Uri.EscapeDataString(model)}/pin/{version}", m => $"{model}: version {m.Desired} is pinned as desired.", cancellationToken)
            : Task.FromResult(CommandResults.Failure($"invalid_version: pin takes a version number, not '{given}'."));
    }

    /// <summary>ModelSync's answer as a command result: success with a sentence, or the problem's stable code and detail.</summary>
    private async Task<ExecuteCommandResult> CommandAsync(string path, Func<AdminModel, string> success, CancellationToken cancellationToken)
    {
        if (!modelsync.IsAllocated)
        {
            return CommandResults.Failure("modelsync_unavailable: ModelSync has not started yet.");
        }
        try
        {
            using var request = Request(HttpMethod.Post, path);
            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var model = await response.Content.ReadFromJsonAsync<AdminModel>(Json, cancellationToken);
                return CommandResults.Success(success(model!));
            }
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
            var code = problem.TryGetProperty("code", out var c) ? c.GetString() : ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : response.ReasonPhrase;
            return CommandResults.Failure($"{code}: {detail}");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return CommandResults.Failure($"modelsync_unavailable: {e.Message}");
        }
    }

    private HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(new Uri(modelsync.Url.TrimEnd('/') + "/"), path));
        request.Headers.Add(KeyHeader, adminKey);
        return request;
    }
}
