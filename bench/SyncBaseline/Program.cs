// The side-by-side benchmark's "before" design (c): a synchronous endpoint that runs the model inside the HTTP
// request, one request at a time under a lock — what a Flask/FastAPI endpoint around a model usually is. It answers
// the gateway's POST /v1/models/{model}/predict with the same record shape, so `bench --transport rest` drives both.
using System.Diagnostics;
using Contracts.Jobs;
using Engine.Inference;
using Engine.Models;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var catalog = ModelCatalog.Scan(builder.Configuration["Models"] ?? "models");
builder.Services.AddSingleton(new SyncModels(catalog));

var app = builder.Build();
app.MapPost("/v1/models/{model}/predict", async (string model, HttpRequest request, SyncModels models, CancellationToken cancellationToken) =>
{
    if (models.Find(model) is not { } runner)
    {
        return Results.Problem(statusCode: 404, title: "model_not_found", detail: $"Model '{model}' was not found.",
            extensions: new Dictionary<string, object?> { ["code"] = "model_not_found" });
    }
    using var body = new MemoryStream();
    await request.Body.CopyToAsync(body, cancellationToken);
    var accepted = DateTimeOffset.UtcNow;
    var clock = Stopwatch.StartNew();
    InferenceResult result;
    lock (runner)
    {
        result = runner.Run([new JobInput("sync", InputKinds.Image, body.ToArray())])[0];
    }
    var ms = clock.Elapsed.TotalMilliseconds;
    if (!result.Succeeded)
    {
        return Results.Problem(statusCode: 400, title: result.ErrorCode, detail: result.ErrorMessage,
            extensions: new Dictionary<string, object?> { ["code"] = result.ErrorCode });
    }
    return Results.Ok(new JobRecord
    {
        Id = Guid.NewGuid().ToString("N"),
        Model = model,
        Version = runner.Version,
        Status = JobStatus.Succeeded,
        AcceptedAt = accepted,
        StartedAt = accepted,
        FinishedAt = DateTimeOffset.UtcNow,
        Output = result.Output,
        Timings = new JobTimings(0, ms, ms, 1),
        Attempts = 1,
    });
});
app.MapGet("/health", () => "Healthy");
app.Run();

/// <summary>One runner per model, built on first use; callers lock it (a runner runs one batch at a time).</summary>
internal sealed class SyncModels(ModelCatalog catalog) : IDisposable
{
    private readonly ModelRunnerFactory _factory = new(catalog, new RunnerOptions(1));
    private readonly Lock _gate = new();

    public IModelRunner? Find(string model)
    {
        var definition = catalog.Find(model)?.Latest?.Definition;
        if (definition is null)
        {
            return null;
        }
        lock (_gate)
        {
            return _factory.Create(definition);
        }
    }

    public void Dispose() => _factory.Dispose();
}
