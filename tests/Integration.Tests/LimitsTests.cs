using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>
/// Per-account limits (a rate with a burst, a cap on unfinished jobs) set through the gateway's admin API and held in
/// Redis, so they bind across both gateway replicas; what a client over them sees is 429 rate_limited with Retry-After.
/// </summary>
public sealed class LimitsTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_account_limited_to_5_jobs_per_second_offered_50_over_two_gateways_gets_5_per_second_and_429s_with_retry_after()
    {
        const double Rate = 5;
        const int Burst = 5;
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (account, _) = await AccountsTests.RegisterAsync(anonymous);
        using var admin = Admin();
        var view = await PutLimitsAsync(admin, account.AccountId, new { jobsPerSecond = Rate, burst = Burst });
        Assert.Equal(Rate, view.GetProperty("effective").GetProperty("jobsPerSecond").GetDouble());
        Assert.Equal(Burst, view.GetProperty("effective").GetProperty("burst").GetInt32());

        using var onA = AccountsTests.Authorized(system.Gateway(0), account.ApiKey);
        using var onB = AccountsTests.Authorized(system.Gateway(1), account.ApiKey);
        var image = Fixtures.Bytes("line-011.png");
        var accepted = new ConcurrentBag<(int Gateway, string Id)>();
        var refused = new ConcurrentBag<(string? Code, TimeSpan? RetryAfter)>();
        var other = new ConcurrentBag<HttpStatusCode>();
        var rejectedBefore = await RateLimitedCountAsync();

        // Open loop: 50 jobs a second for 12 s, alternating between the replicas, each sent without waiting for the last.
        var offered = TimeSpan.FromSeconds(12);
        var sends = new List<Task>();
        var clock = Stopwatch.StartNew();
        for (var i = 0; clock.Elapsed < offered; i++)
        {
            var due = TimeSpan.FromMilliseconds(i * 20);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, Ct);
            }
            var gateway = i % 2;
            sends.Add(Task.Run(async () =>
            {
                using var response = await (gateway == 0 ? onA : onB).PostAsync("/v1/models/ocr-cls/jobs", Http.Body(image), Ct);
                switch (response.StatusCode)
                {
                    case HttpStatusCode.Accepted:
                        accepted.Add((gateway, (await response.ReadJobAsync()).Id));
                        break;
                    case HttpStatusCode.TooManyRequests:
                        refused.Add(((await response.ReadJsonAsync()).GetProperty("code").GetString(), response.Headers.RetryAfter?.Delta));
                        break;
                    default:
                        other.Add(response.StatusCode);
                        break;
                }
            }, Ct));
        }
        var sentFor = clock.Elapsed;
        await Task.WhenAll(sends);

        Assert.Empty(other);
        Assert.All(refused, r => Assert.Equal("rate_limited", r.Code));
        Assert.All(refused, r => Assert.True(r.RetryAfter >= TimeSpan.FromSeconds(1), $"Retry-After {r.RetryAfter}"));
        // The bucket starts full (the burst), then refills at the rate: what was accepted beyond the burst, over the time
        // the load was offered, is the rate the account got — from both replicas together.
        var rate = (accepted.Count - Burst) / sentFor.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"offered {sends.Count} jobs in {sentFor.TotalSeconds:0.0} s: {accepted.Count} accepted ({rate:0.00}/s after the burst of {Burst}), {refused.Count} refused");
        Assert.InRange(rate, Rate * 0.9, Rate * 1.1);
        Assert.Contains(accepted, a => a.Gateway == 0);
        Assert.Contains(accepted, a => a.Gateway == 1);
        Assert.True(refused.Count > sends.Count / 2, $"only {refused.Count} of {sends.Count} were refused");
        // Each refusal is counted by the replica that refused it.
        Assert.Equal(refused.Count, await RateLimitedCountAsync() - rejectedBefore);

        // Every accepted job still finishes.
        foreach (var (gateway, id) in accepted)
        {
            Assert.Equal(JobStatus.Succeeded, (await Http.WaitTerminalAsync(gateway == 0 ? onA : onB, id)).Status);
        }
    }

    [Fact]
    public async Task An_account_capped_at_2_unfinished_jobs_is_refused_a_third_on_either_gateway_and_the_hub_until_one_finishes()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (account, _) = await AccountsTests.RegisterAsync(anonymous);
        using var admin = Admin();
        await PutLimitsAsync(admin, account.AccountId, new { maxUnfinishedJobs = 2 });
        using var onA = AccountsTests.Authorized(system.Gateway(0), account.ApiKey);
        using var onB = AccountsTests.Authorized(system.Gateway(1), account.ApiKey);
        // Whole pages through the OCR pipeline: each takes long enough that the next submits find both still unfinished
        // (a quarter of a second or more). The hub connects first, so its refusal comes within milliseconds of the others:
        // connecting after the two submits, it once found the first page done already.
        var page = Fixtures.Bytes("page-1.png");
        await using var hub = await InferenceClient.ConnectAsync(system.Gateway(1), apiKey: account.ApiKey);

        var first = await SubmitAsync(onA, "ocr", page);
        var second = await SubmitAsync(onB, "ocr", page);
        using (var third = await onA.PostAsync("/v1/models/ocr/jobs", Http.Body(page), Ct))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.True(third.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
            var problem = await third.ReadJsonAsync();
            Assert.Equal("rate_limited", problem.GetProperty("code").GetString());
            Assert.Contains("2 jobs queued or running at once", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        using (var fourth = await onB.PostAsync("/v1/models/ocr-cls/jobs", Http.Body(Fixtures.Bytes("line-012.png")), Ct))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
        }
        var error = await Assert.ThrowsAnyAsync<Exception>(() => hub.SubmitAsync("ocr-cls", Fixtures.Bytes("line-012.png")));
        Assert.Equal("rate_limited", HubErrors.Code(error));

        // A job that finishes frees its place: after both, the account submits again.
        Assert.Equal(JobStatus.Succeeded, (await Http.WaitTerminalAsync(onA, first)).Status);
        Assert.Equal(JobStatus.Succeeded, (await Http.WaitTerminalAsync(onB, second)).Status);
        var again = await SubmitAsync(onA, "ocr-cls", Fixtures.Bytes("line-013.png"));
        Assert.Equal(JobStatus.Succeeded, (await Http.WaitTerminalAsync(onA, again)).Status);

        // A cancelled job frees its place too.
        var held = new[] { await SubmitAsync(onA, "ocr", page), await SubmitAsync(onA, "ocr", page) };
        using (var cancel = await onA.DeleteAsync($"/v1/jobs/{held[1]}", Ct))
        {
            // Cancelled while queued (200), or it finished or started first and cannot be (409): either way it is no longer unfinished.
            Assert.Contains(cancel.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict });
        }
        await Http.WaitTerminalAsync(onA, held[1]);
        var afterCancel = await SubmitAsync(onB, "ocr-cls", Fixtures.Bytes("line-014.png"));
        await Http.WaitTerminalAsync(onA, held[0]);
        Assert.Equal(JobStatus.Succeeded, (await Http.WaitTerminalAsync(onB, afterCancel)).Status);
    }

    [Fact]
    public async Task The_admin_api_refuses_a_wrong_key_bad_limits_and_unknown_accounts_and_shows_the_defaults()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (account, _) = await AccountsTests.RegisterAsync(anonymous);
        var path = $"/v1/admin/accounts/{account.AccountId}/limits";

        using (var noKey = await anonymous.GetAsync(path, Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
            Assert.Equal("admin_key_invalid", (await noKey.ReadJsonAsync()).GetProperty("code").GetString());
        }
        // An account's own key is not the admin key.
        using (var asUser = AccountsTests.Authorized(system.Gateway(0), account.ApiKey))
        using (var userAttempt = await asUser.PutAsync(path, Json(new { jobsPerSecond = 1000 }), Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, userAttempt.StatusCode);
        }

        using var admin = Admin();
        using (var view = await admin.GetAsync(path, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, view.StatusCode);
            var body = await view.ReadJsonAsync();
            // A new account has no limits of its own, and this system sets no defaults.
            Assert.Equal(JsonValueKind.Null, NullOrMissing(body.GetProperty("own"), "jobsPerSecond"));
            Assert.Equal(JsonValueKind.Null, NullOrMissing(body.GetProperty("effective"), "maxUnfinishedJobs"));
        }
        foreach (var (bad, says) in new (object Body, string Says)[]
        {
            (new { jobsPerSecond = -1 }, "jobsPerSecond"),
            (new { burst = 10 }, "burst needs jobsPerSecond"),
            (new { maxUnfinishedJobs = 0 }, "maxUnfinishedJobs"),
        })
        {
            using var refused = await admin.PutAsync(path, Json(bad), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var problem = await refused.ReadJsonAsync();
            Assert.Equal("invalid_limits", problem.GetProperty("code").GetString());
            Assert.Contains(says, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        // A misspelt limit is an error, not a limit silently left unset.
        using (var misspelt = await admin.PutAsync(path, new StringContent("""{"jobsPerSec": 5}""", Encoding.UTF8, "application/json"), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, misspelt.StatusCode);
        }
        using (var unknown = await admin.PutAsync($"/v1/admin/accounts/{Guid.CreateVersion7()}/limits", Json(new { jobsPerSecond = 1 }), Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            Assert.Equal("account_not_found", (await unknown.ReadJsonAsync()).GetProperty("code").GetString());
        }
        using (var malformed = await admin.GetAsync("/v1/admin/accounts/not-an-id/limits", Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Equal("invalid_account_id", (await malformed.ReadJsonAsync()).GetProperty("code").GetString());
        }
    }

    /// <summary>aspire_inference_jobs_rejected_total{model="ocr-cls",reason="rate_limited"} summed over both gateways.</summary>
    private async Task<double> RateLimitedCountAsync()
    {
        using var http = new HttpClient();
        var total = 0.0;
        for (var replica = 0; replica < 2; replica++)
        {
            var text = await http.GetStringAsync(new Uri(system.Gateway(replica), "/metrics"), Ct);
            total += PrometheusText.Parse(text)
                .Where(s => s.Name == "aspire_inference_jobs_rejected_total" && s.Labels.GetValueOrDefault("model") == "ocr-cls"
                    && s.Labels.GetValueOrDefault("reason") == "rate_limited")
                .Sum(s => s.Value);
        }
        return total;
    }

    private HttpClient Admin()
    {
        var http = new HttpClient { BaseAddress = system.Gateway(1) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", system.AdminKey);
        return http;
    }

    private static async Task<JsonElement> PutLimitsAsync(HttpClient admin, Guid accountId, object limits)
    {
        using var response = await admin.PutAsync($"/v1/admin/accounts/{accountId}/limits", Json(limits), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    private static async Task<string> SubmitAsync(HttpClient http, string model, byte[] input)
    {
        using var response = await http.PostAsync($"/v1/models/{model}/jobs", Http.Body(input), Ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.ReadJobAsync()).Id;
    }

    private static JsonContent Json(object body) => JsonContent.Create(body);

    private static JsonValueKind NullOrMissing(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) ? value.ValueKind : JsonValueKind.Null;
}
