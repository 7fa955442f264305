// The internal model admin API: what the bucket holds and what workers serve, pin a version, roll back.
// Every endpoint needs the X-Admin-Key header to match ModelSync:AdminKey; without a configured key the API is off.
using System.Security.Cryptography;
using System.Text;
using Contracts.Models;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ModelSync.Bucket;
using ModelSync.Models;

namespace ModelSync.Admin;

public static class ModelAdminApi
{
    public const string KeyHeader = "X-Admin-Key";

    public static IEndpointRouteBuilder MapModelAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").AddEndpointFilter(RequireAdminKey);
        admin.MapGet("/models", ListModels);
        admin.MapPost("/models/{name}/pin/{version:int}", Pin);
        admin.MapPost("/models/{name}/rollback", Rollback);
        return app;
    }

    private static async ValueTask<object?> RequireAdminKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var configured = http.RequestServices.GetRequiredService<IOptions<ModelSyncOptions>>().Value.AdminKey;
        if (string.IsNullOrEmpty(configured))
        {
            return TypedResults.Problem(
                title: "The admin API is disabled",
                detail: "Set ModelSync:AdminKey (environment ModelSync__AdminKey) to enable it.",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                extensions: new Dictionary<string, object?> { ["code"] = "admin_disabled" });
        }

        var given = http.Request.Headers[KeyHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(configured)))
        {
            return TypedResults.Problem(
                title: "Admin key missing or wrong",
                detail: $"Send the admin key in the {KeyHeader} header.",
                statusCode: StatusCodes.Status401Unauthorized,
                extensions: new Dictionary<string, object?> { ["code"] = "admin_key_invalid" });
        }

        return await next(context);
    }

    private static async Task<Ok<AdminModel[]>> ListModels(ModelStateStore store)
    {
        var workers = await store.ListWorkersAsync();
        var models = new List<AdminModel>();
        foreach (var name in await store.ListModelsAsync())
        {
            models.Add(await DescribeAsync(store, name, workers));
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
