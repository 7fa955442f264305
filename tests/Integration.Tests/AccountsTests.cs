using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>Registration, API keys and their revocation, on the shared system's real PostgreSQL (accounts) and Redis.</summary>
public sealed class AccountsTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Registering_gives_a_key_shown_once_that_opens_a_new_account()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };

        var (first, firstBody) = await RegisterAsync(anonymous);
        var (second, _) = await RegisterAsync(anonymous);

        Assert.NotEqual(first.AccountId, second.AccountId);
        Assert.NotEqual(first.ApiKey, second.ApiKey);
        // 256 random bits: "aik_" and 32 bytes in base64url.
        Assert.StartsWith("aik_", first.ApiKey, StringComparison.Ordinal);
        Assert.Equal(32, System.Buffers.Text.Base64Url.DecodeFromChars(first.ApiKey.AsSpan(4)).Length);
        Assert.True(firstBody.TryGetProperty("keyId", out _));
    }

    [Fact]
    public async Task A_registered_key_submits_over_REST_OIP_and_the_hub()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (account, _) = await RegisterAsync(anonymous);
        using var http = Authorized(system.Gateway(1), account.ApiKey);

        using (var submitted = await http.PostAsync("/v1/models/ocr-cls/jobs", Http.Body(Fixtures.Bytes("line-001.png")), Ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, submitted.StatusCode);
            var record = await Http.WaitTerminalAsync(http, (await submitted.ReadJobAsync()).Id);
            Assert.Equal(JobStatus.Succeeded, record.Status);
        }

        using (var infer = await http.PostAsJsonAsync("/v2/models/ocr-cls/infer",
            new { inputs = new[] { new { name = "x", shape = new[] { 1, 3, 48, 192 }, datatype = "FP32", data = new float[3 * 48 * 192] } } }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
            Assert.Equal("ocr-cls", (await infer.ReadJsonAsync()).GetProperty("model_name").GetString());
        }

        await using var hub = await InferenceClient.ConnectAsync(system.Gateway(0), messagePack: true, apiKey: account.ApiKey);
        var id = await hub.SubmitAsync("ocr-rec", Fixtures.Bytes("line-002.png"));
        var final = await hub.FinalAsync(id);
        Assert.Equal(JobStatus.Succeeded, final.Status);
        Assert.Equal(Fixtures.LineText("line-002.png"), final.Output!.Value.GetProperty("text").GetString()!.Trim());
    }

    [Fact]
    public async Task Without_a_valid_key_REST_OIP_and_the_hub_answer_401_unauthenticated_while_the_page_and_probes_stay_open()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        using var unknownKey = Authorized(system.Gateway(1), "aik_" + new string('A', 43));
        const string job = "0123456789abcdef0123456789abcdef";
        foreach (var client in new[] { anonymous, unknownKey })
        {
            foreach (var (method, path) in new[]
            {
                (HttpMethod.Get, "/v1/models"), (HttpMethod.Post, "/v1/models/ocr-cls/jobs"), (HttpMethod.Post, "/v1/models/ocr-cls/predict"),
                (HttpMethod.Get, $"/v1/jobs/{job}"), (HttpMethod.Delete, $"/v1/jobs/{job}"), (HttpMethod.Post, "/v1/keys"),
                (HttpMethod.Get, "/v2/models/ocr-cls"), (HttpMethod.Post, "/v2/models/ocr-cls/infer"),
            })
            {
                using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? Http.Body(Fixtures.Bytes("line-001.png")) : null };
                using var response = await client.SendAsync(request, Ct);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal("unauthenticated", (await response.ReadJsonAsync()).GetProperty("code").GetString());
            }
        }
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => InferenceClient.ConnectAsync(system.Gateway(0), apiKey: "aik_unknown"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        foreach (var path in new[] { "/", "/app.js", "/health", "/alive" })
        {
            using var open = await anonymous.GetAsync(path, Ct);
            Assert.True(open.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)open.StatusCode}");
        }
    }

    [Fact]
    public async Task A_revoked_key_stops_working_on_every_gateway_within_a_second_and_the_accounts_other_key_keeps_working()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (account, _) = await RegisterAsync(anonymous);
        using var first = Authorized(system.Gateway(0), account.ApiKey);
        using var created = await first.PostAsync("/v1/keys", null, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var second = (await created.Content.ReadFromJsonAsync<NewKey>(Http.Json, Ct))!;
        Assert.Equal(account.AccountId, second.AccountId);

        // Both gateways have looked the second key up (it is in their caches) before it is revoked on gateway 0.
        using var onGateway0 = Authorized(system.Gateway(0), second.ApiKey);
        using var onGateway1 = Authorized(system.Gateway(1), second.ApiKey);
        foreach (var client in new[] { onGateway0, onGateway1 })
        {
            using var works = await client.GetAsync("/v1/models", Ct);
            Assert.Equal(HttpStatusCode.OK, works.StatusCode);
        }
        using (var revoked = await first.DeleteAsync($"/v1/keys/{second.KeyId}", Ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();

        foreach (var client in new[] { onGateway0, onGateway1 })
        {
            while (true)
            {
                using var probe = await client.GetAsync("/v1/models", Ct);
                if (probe.StatusCode == HttpStatusCode.Unauthorized)
                {
                    Assert.Equal("unauthenticated", (await probe.ReadJsonAsync()).GetProperty("code").GetString());
                    break;
                }
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"{client.BaseAddress} still accepted the revoked key after {clock.ElapsedMilliseconds} ms");
                await Task.Delay(50, Ct);
            }
        }
        using (var stillWorks = await Authorized(system.Gateway(1), account.ApiKey).GetAsync("/v1/models", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, stillWorks.StatusCode);
        }
        using (var again = await first.DeleteAsync($"/v1/keys/{second.KeyId}", Ct))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            Assert.Equal("key_not_found", (await again.ReadJsonAsync()).GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task Another_accounts_key_cannot_be_revoked_and_a_malformed_key_id_is_a_400()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (owner, ownerBody) = await RegisterAsync(anonymous);
        var (other, _) = await RegisterAsync(anonymous);
        using var otherClient = Authorized(system.Gateway(1), other.ApiKey);

        using var foreign = await otherClient.DeleteAsync($"/v1/keys/{ownerBody.GetProperty("keyId").GetString()}", Ct);
        using var malformed = await otherClient.DeleteAsync("/v1/keys/not-a-key-id", Ct);
        using var ownerStillWorks = await Authorized(system.Gateway(1), owner.ApiKey).GetAsync("/v1/models", Ct);

        Assert.Equal((HttpStatusCode.NotFound, "key_not_found"), (foreign.StatusCode, (await foreign.ReadJsonAsync()).GetProperty("code").GetString()));
        Assert.Equal((HttpStatusCode.BadRequest, "invalid_key_id"), (malformed.StatusCode, (await malformed.ReadJsonAsync()).GetProperty("code").GetString()));
        Assert.Equal(HttpStatusCode.OK, ownerStillWorks.StatusCode);
    }

    [Fact]
    public async Task Another_account_gets_404_job_not_found_for_a_job_on_every_endpoint_and_cannot_cancel_it()
    {
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var (owner, _) = await RegisterAsync(anonymous);
        var (stranger, _) = await RegisterAsync(anonymous);
        using var ownerHttp = Authorized(system.Gateway(0), owner.ApiKey);
        using var strangerHttp = Authorized(system.Gateway(1), stranger.ApiKey);
        await using var strangerHub = await InferenceClient.ConnectAsync(system.Gateway(1), apiKey: stranger.ApiKey);

        using var submitted = await ownerHttp.PostAsync("/v1/models/ocr-rec/jobs", Http.Body(Fixtures.Bytes("line-003.png")), Ct);
        var id = (await submitted.ReadJobAsync()).Id;

        foreach (var (method, path) in new[] { (HttpMethod.Delete, $"/v1/jobs/{id}"), (HttpMethod.Get, $"/v1/jobs/{id}"), (HttpMethod.Get, $"/v1/jobs/{id}?wait=1") })
        {
            using var response = await strangerHttp.SendAsync(new HttpRequestMessage(method, path), Ct);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {(int)response.StatusCode}");
            Assert.Equal("job_not_found", (await response.ReadJsonAsync()).GetProperty("code").GetString());
        }
        var cancel = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => strangerHub.CancelAsync(id));
        var subscribe = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => strangerHub.SubscribeAsync(id));
        Assert.Contains("job_not_found", cancel.Message);
        Assert.Contains("job_not_found", subscribe.Message);

        // The owner's job was neither cancelled nor shown: it finishes for its owner alone.
        var final = await Http.WaitTerminalAsync(ownerHttp, id);
        Assert.Equal(JobStatus.Succeeded, final.Status);
        Assert.Equal(owner.AccountId.ToString(), final.Owner);
        Assert.False(strangerHub.Updates.ContainsKey(id), "the stranger's hub connection was sent the job");
    }

    internal sealed record NewAccount(Guid AccountId, Guid KeyId, string ApiKey);

    private sealed record NewKey(Guid AccountId, Guid KeyId, string ApiKey);

    internal static async Task<(NewAccount Account, JsonElement Body)> RegisterAsync(HttpClient anonymous)
    {
        using var response = await anonymous.PostAsync("/v1/accounts", null, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadJsonAsync();
        return (body.Deserialize<NewAccount>(Http.Json)!, body);
    }

    internal static HttpClient Authorized(Uri gateway, string key) =>
        new() { BaseAddress = gateway, DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", key) } };
}
