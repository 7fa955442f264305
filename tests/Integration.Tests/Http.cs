using System.Net.Http.Json;
using System.Text.Json;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>An HTTP client of the gateway that sends the development account's key on every request, as a user's client does.</summary>
public sealed class GatewayHttpClient : HttpClient
{
    public GatewayHttpClient() => Authorize();

    public GatewayHttpClient(HttpMessageHandler handler, bool disposeHandler = true) : base(handler, disposeHandler) => Authorize();

    private void Authorize() =>
        DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", SystemFixture.ApiKey);
}

internal static class Http
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<JobRecord> ReadJobAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JobRecord>(Json, TestContext.Current.CancellationToken))!;

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>(Json, TestContext.Current.CancellationToken);

    public static ByteArrayContent Body(byte[] bytes) => new(bytes);

    /// <summary>Polls the REST API until the job is terminal (used where no push is being tested).</summary>
    public static async Task<JobRecord> WaitTerminalAsync(HttpClient http, string id, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            using var response = await http.GetAsync($"/v1/jobs/{id}?wait=10", TestContext.Current.CancellationToken);
            var record = await response.ReadJobAsync();
            if (record.IsTerminal || DateTime.UtcNow > deadline)
            {
                return record;
            }
        }
    }
}
