using System.Net.Http.Json;
using System.Text.Json;
using AppHost.Hosting;

namespace AppHost.Dashboard;

/// <summary>What the page shows after a model command: ModelSync's answer, or its problem code and detail.</summary>
internal sealed record ModelCommandResult(bool Ok, int Status, string? Code, string Message, JsonElement? Model);

/// <summary>
/// Calls ModelSync's admin API for the Models panel. The AppHost generated the admin key and handed it to ModelSync
/// as <c>ModelSync__AdminKey</c>; the dashboard reads it from the same resource, so it is never typed in.
/// </summary>
internal sealed class ModelAdminClient(DistributedApplication app, DashboardOptions options) : IDisposable
{
    public const string AdminKeyVariable = "ModelSync__AdminKey";
    private const string KeyHeader = "X-Admin-Key";

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<JsonElement?> ListAsync(CancellationToken cancellationToken)
    {
        if (Target() is not { } target)
        {
            return null;
        }
        try
        {
            using var request = Request(HttpMethod.Get, target, "admin/models");
            using var response = await _http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null; // ModelSync restarting: the panel keeps its last view
        }
    }

    public async Task<ModelCommandResult> RollbackAsync(string model, CancellationToken cancellationToken)
    {
        if (Target() is not { } target)
        {
            return new ModelCommandResult(false, 0, "modelsync_unavailable", $"No '{options.ModelSyncResource}' resource with an admin key in this application.", null);
        }
        try
        {
            using var request = Request(HttpMethod.Post, target, $"admin/models/{Uri.EscapeDataString(model)}/rollback");
            using var response = await _http.SendAsync(request, cancellationToken);
            var body = response.Content.Headers.ContentLength == 0 ? (JsonElement?)null : await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                var desired = body?.TryGetProperty("desired", out var d) == true ? d.ToString() : "?";
                return new ModelCommandResult(true, (int)response.StatusCode, null, $"{model}: rolled back; version {desired} is pinned as desired.", body);
            }
            // problem+json: a stable code and a sentence.
            var code = body?.TryGetProperty("code", out var c) == true ? c.GetString() : null;
            var detail = body?.TryGetProperty("detail", out var t) == true ? t.GetString() : null;
            return new ModelCommandResult(false, (int)response.StatusCode, code, detail ?? response.ReasonPhrase ?? "failed", null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return new ModelCommandResult(false, 0, "modelsync_unavailable", $"ModelSync did not answer: {e.Message}", null);
        }
    }

    public void Dispose() => _http.Dispose();

    private (Uri Endpoint, string Key)? Target()
    {
        var resource = app.Resources.OfType<ExecutableResource>().FirstOrDefault(r => r.Name == options.ModelSyncResource);
        return resource is { HasHttpEndpoint: true } && resource.Environment.TryGetValue(AdminKeyVariable, out var key) && resource.AllocatedPorts.Length > 0
            ? (app.GetEndpoint(resource.Name), key)
            : null;
    }

    private static HttpRequestMessage Request(HttpMethod method, (Uri Endpoint, string Key) target, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(target.Endpoint, path));
        request.Headers.Add(KeyHeader, target.Key);
        return request;
    }
}
