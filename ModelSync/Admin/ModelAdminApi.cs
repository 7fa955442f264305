// The internal model admin API: what the bucket holds and what workers serve, pin a version, roll back.
// Every endpoint needs the X-Admin-Key header to match ModelSync:AdminKey; without a configured key the API is off.
using Contracts.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ModelSync.Bucket;
using ModelSync.Models;
using ServiceDefaults.Http;

namespace ModelSync.Admin;

public static class ModelAdminApi
{
    public const string KeyHeader = AdminKeyFilter.KeyHeader;

    public static IEndpointRouteBuilder MapModelAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin")
            .RequireAdminKey(services => services.GetRequiredService<IOptions<ModelSyncOptions>>().Value.AdminKey, "ModelSync:AdminKey (environment ModelSync__AdminKey)");
        admin.MapGet("/models", ListModels);
        admin.MapPost("/models/{name}/pin/{version:int}", Pin);
        admin.MapPost("/models/{name}/rollback", Rollback);
        return app;
    }

    private static async Task<Ok<AdminModel[]>> ListModels(ModelStateStore store, JobQueueDepth queues, CancellationToken cancellationToken)
    {
        var workers = await store.ListWorkersAsync();
        var models = new List<AdminModel>();
        foreach (var name in await store.ListModelsAsync())
        {
            // Ready (RabbitMQ) + held by live workers (their heartbeats): the count KEDA's scaler reads from the management API.
            var ready = await queues.ReadyAsync(name, cancellationToken);
            models.Add(await DescribeAsync(store, name, workers) with
            {
                Queue = ready is { } r ? new ModelQueue(r, workers.Sum(w => w.Held?.GetValueOrDefault(name) ?? 0)) : null,
            });
        }

        return TypedResults.Ok(models.ToArray());
    }

    private static async Task<Results<Ok<AdminModel>, ProblemHttpResult>> Pin(string name, int version, ModelStateStore store, BucketWatcher watcher)
    {
        var versions = await store.GetVersionsAsync(name);
        if (!versions.TryGetValue(version, out var state))
        {
            return Problem(StatusCodes.Status404NotFound, "version_not_found", $"{name} has no published version {version}.");
        }

        if (state.IsRemoved)
        {
            return Problem(StatusCodes.Status409Conflict, "version_removed", $"{name} version {version} is no longer published in the bucket ({state.Reason}).");
        }

        if (!state.IsValid)
        {
            return Problem(StatusCodes.Status409Conflict, "version_invalid", $"{name} version {version} is invalid: {state.Reason}");
        }

        await store.SetPinnedAsync(name, version);
        await watcher.UpdateDesiredAsync(name);
        return TypedResults.Ok(await DescribeAsync(store, name, await store.ListWorkersAsync()));
    }

    /// <summary>Pins the newest valid version older than the desired one.</summary>
    private static async Task<Results<Ok<AdminModel>, ProblemHttpResult>> Rollback(string name, ModelStateStore store, BucketWatcher watcher)
    {
        var versions = await store.GetVersionsAsync(name);
        if (versions.Count == 0)
        {
            return Problem(StatusCodes.Status404NotFound, "model_not_found", $"ModelSync knows no model '{name}'.");
        }

        var desired = await store.GetDesiredAsync(name);
        var previous = versions.Where(v => v.Value.IsValid && v.Key < desired).Select(v => (int?)v.Key).Max();
        if (previous is not { } target)
        {
            return Problem(StatusCodes.Status409Conflict, "no_previous_version", $"{name} has no valid version older than {desired}.");
        }

        await store.SetPinnedAsync(name, target);
        await watcher.UpdateDesiredAsync(name);
        return TypedResults.Ok(await DescribeAsync(store, name, await store.ListWorkersAsync()));
    }

    private static async Task<AdminModel> DescribeAsync(ModelStateStore store, string name, IReadOnlyList<WorkerView> workers) => new(
        name,
        await store.GetVersionsAsync(name),
        await store.GetDesiredAsync(name),
        await store.GetPinnedAsync(name),
        workers.Where(w => w.Hosts(name)).ToDictionary(w => w.Instance, w => w.Models.TryGetValue(name, out var v) ? (int?)v : null),
        await store.GetRolloutAsync(name),
        await store.GetRolloutHistoryAsync(name),
        workers.Where(w => w.Fallbacks?.ContainsKey(name) == true).ToDictionary(w => w.Instance, w => w.Fallbacks![name]));

    private static ProblemHttpResult Problem(int status, string code, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });
}
