using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>ModelSync's admin API as the model tests read it: what each model's versions, desired version and workers are.</summary>
internal static class ModelAdmin
{
    public static HttpClient CreateClient(SystemFixture system)
    {
        var http = new HttpClient { BaseAddress = system.Aspire.GetEndpoint("modelsync"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", system.AdminKey);
        return http;
    }

    /// <summary>Every live worker serves <paramref name="version"/>, the desired one.</summary>
    public static bool AllServe(AdminModel model, int version) =>
        model.Desired == version && model.Serving.Count > 0 && model.Serving.Values.All(v => v == version);

    public static bool RolledOut(AdminModel model, int version) =>
        AllServe(model, version) && model.Rollout is { State: "succeeded" } rollout && rollout.To == version;

    /// <summary>Polls <c>GET /admin/models</c> until <paramref name="name"/> satisfies <paramref name="condition"/>; fails with the last view.</summary>
    public static async Task<AdminModel> WaitForAsync(HttpClient admin, Func<AdminModel, bool> condition, string name, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        AdminModel? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await admin.GetAsync("/admin/models", TestContext.Current.CancellationToken);
                // A poller retries a 503 (Redis reconnecting after an earlier test restarted it); anything else must succeed.
                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    response.EnsureSuccessStatusCode();
                    var models = await response.Content.ReadFromJsonAsync<AdminModel[]>(Http.Json, TestContext.Current.CancellationToken);
                    last = models?.FirstOrDefault(m => m.Name == name);
                }
            }
            catch (HttpRequestException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                // ModelSync starting again (a test restarted it): its port answers once it is up.
            }
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(250, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"{name} did not reach the expected state within {timeout.TotalSeconds} s; last: {JsonSerializer.Serialize(last, Http.Json)}");
        return null!;
    }
}

/// <summary>ModelSync's GET /admin/models entry, as the test reads it.</summary>
public sealed record AdminModel(
    string Name,
    Dictionary<int, AdminVersion> Versions,
    int? Desired,
    int? Pinned,
    Dictionary<string, int?> Serving,
    AdminRollout? Rollout,
    AdminRollout[] History,
    Dictionary<string, string>? Fallbacks = null,
    AdminQueue? Queue = null);

/// <summary>The model's job queue: ready in RabbitMQ, held by workers, and their sum (what KEDA's scaler counts).</summary>
public sealed record AdminQueue(long Ready, long Unacknowledged, long Length);

public sealed record AdminVersion(string State, string? Reason, DateTimeOffset? RemovedAt = null);

public sealed record AdminRollout(
    int? From, int To, string State, string? Message, string[][]? Steps = null, DateTimeOffset? Started = null, DateTimeOffset? Finished = null);
