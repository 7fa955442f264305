using System.Net;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Client.Tests.Cli;

/// <summary>The gateway's problem+json answers, from a Kestrel stub, as <see cref="InferenceApiException"/>s.</summary>
public sealed class InferenceApiExceptionTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private InferenceClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        _app = builder.Build();
        _app.MapPost("/v1/models/{model}/jobs", (string model) => Results.Problem(
            statusCode: 404, title: "model not found", detail: $"There is no model named '{model}'. GET /v1/models lists them.",
            extensions: new Dictionary<string, object?> { ["code"] = "model_not_found" }));
        _app.MapPost("/v1/models/{model}/predict", (HttpContext context) =>
        {
            context.Response.Headers.RetryAfter = "7";
            return Results.Problem(statusCode: 429, title: "queue full", detail: "The queue is full; retry later.",
                extensions: new Dictionary<string, object?> { ["code"] = "queue_full" });
        });
        _app.MapGet("/v1/jobs/{id}", () => Results.Text("upstream exploded", statusCode: 502));
        _app.MapGet("/v1/models", () => Results.Json(new[]
        {
            new { name = "ocr-rec", task = "text-recognition", versions = new[] { 1, 2 }, latestVersion = 2, servingVersions = new[] { 2 }, ready = true },
        }));
        await _app.StartAsync(TestContext.Current.CancellationToken);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _client = new InferenceClient(new Uri(address));
    }

    [Fact]
    public async Task Problem_code_and_detail_become_the_exception()
    {
        var error = await Assert.ThrowsAsync<InferenceApiException>(() =>
            _client.SubmitRestAsync("nope", [1, 2, 3], cancellationToken: TestContext.Current.CancellationToken));

        Assert.Equal(404, error.Status);
        Assert.Equal("model_not_found", error.Code);
        Assert.Equal("There is no model named 'nope'. GET /v1/models lists them.", error.Detail);
        Assert.Null(error.RetryAfter);
    }

    [Fact]
    public async Task Retry_after_is_read_from_the_header()
    {
        var error = await Assert.ThrowsAsync<InferenceApiException>(() =>
            _client.PredictAsync("ocr", [1], TestContext.Current.CancellationToken));

        Assert.Equal((429, "queue_full"), (error.Status, error.Code));
        Assert.Equal(TimeSpan.FromSeconds(7), error.RetryAfter);
    }

    [Fact]
    public async Task An_answer_without_problem_json_still_gives_status_and_a_code()
    {
        var error = await Assert.ThrowsAsync<InferenceApiException>(() =>
            _client.GetJobAsync(new string('a', 32), TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));

        Assert.Equal((502, "http_502"), (error.Status, error.Code));
        Assert.Contains("502", error.Detail);
    }

    [Fact]
    public async Task Models_are_listed()
    {
        var model = Assert.Single(await _client.ListModelsAsync(TestContext.Current.CancellationToken));

        Assert.Equal(("ocr-rec", "text-recognition", 2, true), (model.Name, model.Task, model.LatestVersion, model.Ready));
        Assert.Equal([1, 2], model.Versions);
        Assert.Equal([2], model.ServingVersions);
    }

    [Theory]
    [InlineData("An unexpected error occurred invoking 'Submit' on the server. HubException: model_not_found: There is no model named 'x'.",
        "model_not_found", "There is no model named 'x'.")]
    [InlineData("HubException: queue_full: The queue is full: retry later.", "queue_full", "The queue is full: retry later.")]
    [InlineData("An unexpected error occurred invoking 'Submit' on the server.", "hub_error", "An unexpected error occurred invoking 'Submit' on the server.")]
    public void Hub_errors_are_read_as_code_and_detail(string message, string code, string detail)
    {
        var error = InferenceApiException.FromHubException(new HubException(message));

        Assert.Equal((null, code, detail), (error.Status, error.Code, error.Detail));
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
