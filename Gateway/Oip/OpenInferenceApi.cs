using System.Text.Json;
using System.Text.Json.Nodes;
using Contracts.Jobs;
using Engine.Inference;
using Gateway.Accounts;
using Gateway.Jobs;
using Gateway.Models;
using Microsoft.Extensions.Options;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Gateway.Oip;

/// <summary>
/// Open Inference Protocol v2 (KServe / Triton compatible) over the same queue as every other job.
/// Errors are OIP's <c>{"error": "…"}</c> with 400 or 404 (503 when a dependency is down).
/// </summary>
public static class OpenInferenceApi
{
    public static IEndpointRouteBuilder MapOpenInferenceApi(this IEndpointRouteBuilder app)
    {
        var v2 = app.MapGroup("/v2").RequireAuthorization();
        v2.MapGet("/", ServerMetadata);
        v2.MapGet("/health/live", () => TypedResults.Ok());
        v2.MapGet("/health/ready", Ready);
        v2.MapGet("/models/{model}", ModelMetadata);
        v2.MapGet("/models/{model}/versions/{version}", ModelMetadata);
        v2.MapGet("/models/{model}/ready", ModelReady);
        v2.MapGet("/models/{model}/versions/{version}/ready", ModelReady);
        v2.MapPost("/models/{model}/infer", Infer);
        v2.MapPost("/models/{model}/versions/{version}/infer", Infer);
        return app;
    }

    private static IResult ServerMetadata() => TypedResults.Ok(new
    {
        name = "aspire-inference",
        version = typeof(OpenInferenceApi).Assembly.GetName().Version?.ToString(3) ?? "0.1.0",
        extensions = new[] { "jobs", "signalr" },
    });

    private static async Task<IResult> Ready(IConnectionMultiplexer redis, ModelCatalog catalog)
    {
        var ready = redis.IsConnected && catalog.All.Count > 0 && (await ServingVersionsAsync(redis)).Count > 0;
        return ready ? TypedResults.Ok() : Error(503, "not ready: no worker is serving models yet");
    }

    private static async Task<IResult> ModelMetadata(string model, string? version, ModelCatalog catalog, IConnectionMultiplexer redis)
    {
        if (Find(model, version, catalog) is not { } info)
        {
            return NotFound(model, version);
        }
        var serving = (await ServingVersionsAsync(redis)).GetValueOrDefault(model) ?? [];
        var manifest = info.Manifest;
        var inputs = new JsonArray();
        if (manifest.TryGetProperty("input", out var input) && info.TakesImages && info.Task != "tensor")
        {
            inputs.Add(new JsonObject
            {
                ["name"] = input.TryGetProperty("name", out var n) ? n.GetString() : "x",
                ["datatype"] = "BYTES",
                ["shape"] = new JsonArray(1),
                ["parameters"] = new JsonObject { ["content"] = "an encoded image (JPEG, PNG, WebP), base64 in JSON" },
            });
        }
        return TypedResults.Ok(new JsonObject
        {
            ["name"] = info.Name,
            ["versions"] = new JsonArray([.. info.Versions.Select(v => (JsonNode)v.ToString(System.Globalization.CultureInfo.InvariantCulture))]),
            ["platform"] = "onnxruntime_onnx",
            ["inputs"] = inputs,
            ["outputs"] = new JsonArray(),
            ["parameters"] = new JsonObject
            {
                ["task"] = info.Task,
                ["serving_versions"] = new JsonArray([.. serving.Select(v => (JsonNode)v)]),
            },
        });
    }

    private static async Task<IResult> ModelReady(string model, string? version, ModelCatalog catalog, IConnectionMultiplexer redis)
    {
        if (Find(model, version, catalog) is not { } info)
        {
            return NotFound(model, version);
        }
        IReadOnlyList<WorkerHeartbeatInfo> workers;
        try
        {
            workers = await WorkerDirectory.ReadAsync(redis);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            workers = []; // unknown while Redis is down: nothing can be queued either
        }
        // Without a version, ready when a job sent now would run (any version a worker consuming jobs serves).
        var consuming = workers.Where(w => w.Ready).SelectMany(w => w.Models).Where(m => m.Model == info.Name).Select(m => m.Version).ToList();
        if (version is null ? consuming.Count > 0 : consuming.Contains(version))
        {
            return TypedResults.Ok();
        }
        // OIP: 200 means ready, a 4xx not ready; the body says why.
        var why = ModelCatalog.UnavailableReason(info.Name, info.Desired, workers, anyReady: true) ?? $"no worker consuming jobs serves version {version}";
        return Error(400, version is null ? $"model '{model}' is not ready: {why}" : $"model '{model}' version {version} is not ready: {why}");
    }

    private static async Task<IResult> Infer(
        string model, string? version, HttpRequest request, JobSubmitter submitter, JobStore store, JobWaiters waiters,
        ModelCatalog catalog, IOptions<GatewayOptions> options, CancellationToken cancellationToken)
    {
        if (!ModelCatalog.IsValidName(model) || Find(model, version, catalog) is null)
        {
            return NotFound(model, version);
        }
        ReadOnlyMemory<byte> body;
        try
        {
            body = await JobsApi.ReadBodyAsync(request, options.Value.MaxInputBytes, cancellationToken);
        }
        catch (SubmissionException e)
        {
            return Error(e.Status, e.Message);
        }
        string? requestId;
        try
        {
            // Malformed requests are answered here, before anything is queued.
            requestId = OipCodec.Parse(body.Span).Id;
        }
        catch (OipRequestException e)
        {
            return Error(400, e.Message);
        }

        Task<JobRecord>? done = null;
        Action unregister = () => { };
        try
        {
            var record = await submitter.SubmitAsync(model, body, null, owner: request.HttpContext.User.Owner(), cancellationToken,
                follower: waiters.Follower, beforePublish: r => done = waiters.Register(r.Id, out unregister), inputValidated: true);
            var final = await JobsApi.WaitForAsync(record.Id, done!, store, options.Value.SyncTimeout, cancellationToken);
            if (final is null)
            {
                return Error(504, $"inference did not finish within {options.Value.SyncTimeout.TotalSeconds:0} s (job {record.Id})");
            }
            if (final.Status != JobStatus.Succeeded || final.Output is not { } output)
            {
                return Error(final.Error?.Code is JobErrorCodes.InvalidInput or JobErrorCodes.UnsupportedMediaType or JobErrorCodes.ImageTooLarge ? 400 : 500,
                    final.Error?.Message ?? $"inference ended as {final.Status.ToWire()}");
            }
            var response = new JsonObject
            {
                ["model_name"] = model,
                ["model_version"] = final.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            if (requestId is not null)
            {
                response["id"] = requestId;
            }
            if (output.ValueKind == JsonValueKind.Object && output.TryGetProperty("outputs", out var outputs))
            {
                response["outputs"] = JsonNode.Parse(outputs.GetRawText());
            }
            else
            {
                // Task outputs (labels, text, lines) travel as one BYTES output holding their JSON.
                response["outputs"] = new JsonArray(new JsonObject
                {
                    ["name"] = "result",
                    ["datatype"] = "BYTES",
                    ["shape"] = new JsonArray(1),
                    ["data"] = new JsonArray(output.GetRawText()),
                });
            }
            return TypedResults.Json(response);
        }
        catch (SubmissionException e)
        {
            if (e.RetryAfter is { } retry)
            {
                request.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return Error(e.Status is 404 or 413 or 429 or 503 ? e.Status : 400, e.Message);
        }
        finally
        {
            unregister();
        }
    }

    private static ModelInfo? Find(string model, string? version, ModelCatalog catalog) =>
        catalog.TryGet(model, out var info) && (version is null || (int.TryParse(version, out var v) && info.Versions.Contains(v))) ? info : null;

    /// <summary>model → versions served, from the live worker heartbeats.</summary>
    private static async Task<Dictionary<string, List<string>>> ServingVersionsAsync(IConnectionMultiplexer redis)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        try
        {
            foreach (var heartbeat in await WorkerDirectory.ReadAsync(redis))
            {
                foreach (var (model, version) in heartbeat.Models)
                {
                    var list = result.TryGetValue(model, out var l) ? l : result[model] = [];
                    if (!list.Contains(version))
                    {
                        list.Add(version);
                    }
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Unknown while Redis is down: report nothing as served.
        }
        return result;
    }

    private static IResult NotFound(string model, string? version) =>
        Error(404, version is null ? $"unknown model '{model}'" : $"unknown model '{model}' version '{version}'");

    private static IResult Error(int status, string message) => TypedResults.Json(new { error = message }, statusCode: status);
}
