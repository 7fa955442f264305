using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Contracts;
using Contracts.Jobs;
using Engine.Onnx;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Integration.Tests;

/// <summary>The async pipeline end to end: gateway → RabbitMQ → worker → Redis → push.</summary>
public sealed class PipelineTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Text_line_submitted_over_SignalR_is_recognized_and_pushed_back()
    {
        await using var client = await InferenceClient.ConnectAsync(system.Gateway());
        var id = await client.SubmitAsync("ocr-rec", Fixtures.Bytes("line-003.png"));

        var final = await client.FinalAsync(id);

        Assert.Equal(JobStatus.Succeeded, final.Status);
        Assert.Equal(Fixtures.LineText("line-003.png"), final.Output!.Value.GetProperty("text").GetString());
        Assert.Equal(1, final.Version);
        Assert.NotNull(final.Timings?.ComputeMs);
        // Pushed in order: queued first (on submit), then running, then the result — never a state twice.
        var statuses = client.Updates[id].Select(u => u.Status).ToList();
        Assert.Equal(statuses.Distinct().Count(), statuses.Count);
        Assert.Equal(JobStatus.Succeeded, statuses[^1]);
        Assert.Equal(statuses.Order().ToList(), statuses);
    }

    [Fact]
    public async Task Rest_submit_then_long_poll_returns_the_same_output_as_the_hub()
    {
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway(1) };
        using var accepted = await http.PostAsync("/v1/models/ocr-rec/jobs", Http.Body(Fixtures.Bytes("line-003.png")), Ct);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var queued = await accepted.ReadJobAsync();
        Assert.Equal($"/v1/jobs/{queued.Id}", accepted.Headers.Location!.OriginalString);
        Assert.Equal(JobStatus.Queued, queued.Status);

        using var polled = await http.GetAsync($"/v1/jobs/{queued.Id}?wait=30", Ct);
        var final = await polled.ReadJobAsync();

        Assert.Equal(JobStatus.Succeeded, final.Status);
        Assert.Equal(Fixtures.LineText("line-003.png"), final.Output!.Value.GetProperty("text").GetString());
    }

    [Fact]
    public async Task Oip_infer_with_a_json_tensor_returns_the_numbers_engine_computes()
    {
        var random = new Random(42);
        var data = new float[1 * 3 * 48 * 192];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = (float)(random.NextDouble() * 2 - 1);
        }
        using var session = InferenceSession.Load(Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1", "model.onnx"));
        using var expected = session.Run([new NamedTensor("x", TensorData.Create(data, 1, 3, 48, 192))]);
        var expectedScores = expected[0].Tensor.ToArray<float>();

        using var http = new GatewayHttpClient { BaseAddress = system.Gateway() };
        using var response = await http.PostAsJsonAsync("/v2/models/ocr-cls/infer", new
        {
            id = "request-7",
            inputs = new[] { new { name = "x", shape = new[] { 1, 3, 48, 192 }, datatype = "FP32", data } },
        }, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal("request-7", body.GetProperty("id").GetString());
        Assert.Equal("ocr-cls", body.GetProperty("model_name").GetString());
        var output = body.GetProperty("outputs")[0];
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([1, 2], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        var actual = output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(expectedScores.Length, actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            Assert.Equal(expectedScores[i], actual[i], 1e-5f);
        }
    }

    [Fact]
    public async Task Oip_errors_are_json_with_400_or_404()
    {
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway() };
        using var unknown = await http.PostAsync("/v2/models/nope/infer", JsonContent.Create(new { inputs = Array.Empty<object>() }), Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nope", (await unknown.ReadJsonAsync()).GetProperty("error").GetString());

        using var wrongLength = await http.PostAsJsonAsync("/v2/models/ocr-cls/infer",
            new { inputs = new[] { new { name = "x", shape = new[] { 1, 3, 48, 192 }, datatype = "FP32", data = new[] { 1f, 2f } } } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, wrongLength.StatusCode);
        Assert.Contains("holds 27648 elements but data has 2", (await wrongLength.ReadJsonAsync()).GetProperty("error").GetString());

        using var wrongType = await http.PostAsJsonAsync("/v2/models/ocr-cls/infer",
            new { inputs = new[] { new { name = "x", shape = new[] { 1, 2 }, datatype = "INT64", data = new[] { 1, 2 } } } }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains("float32", (await wrongType.ReadJsonAsync()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task Garbage_image_fails_fast_with_a_client_error_code_and_no_retry()
    {
        await using var client = await InferenceClient.ConnectAsync(system.Gateway());
        var id = await client.SubmitAsync("ocr-rec", Fixtures.CorruptPng());

        var final = await client.FinalAsync(id);

        Assert.Equal(JobStatus.Failed, final.Status);
        Assert.Equal(JobErrorCodes.InvalidInput, final.Error!.Code);
        Assert.Contains("PNG", final.Error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, final.Attempts);
    }

    [Fact]
    public async Task Job_that_makes_the_worker_throw_is_retried_then_failed_with_the_reason()
    {
        await using var client = await InferenceClient.ConnectAsync(system.Gateway());
        var id = await client.SubmitAsync("faulty", Fixtures.Bytes("line-001.png"));

        var final = await client.FinalAsync(id, TimeSpan.FromSeconds(90));

        Assert.Equal(JobStatus.Failed, final.Status);
        Assert.Equal(JobErrorCodes.DeliveryLimit, final.Error!.Code);
        Assert.Contains("last error", final.Error.Message);
        Assert.True(final.Attempts >= SystemFixture.DeliveryLimit, $"expected at least {SystemFixture.DeliveryLimit} attempts, got {final.Attempts}");
    }

    [Fact]
    public async Task Hub_errors_carry_the_same_stable_codes_as_rest()
    {
        await using var client = await InferenceClient.ConnectAsync(system.Gateway());
        var unknown = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => client.SubmitAsync("no-such-model", Fixtures.Bytes("line-001.png")));
        Assert.Equal("model_not_found", HubErrors.Code(unknown));
        var gif = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => client.SubmitAsync("ocr-rec", "GIF89a......"u8.ToArray()));
        Assert.Equal("unsupported_media_type", HubErrors.Code(gif));
        var badId = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => client.SubscribeAsync("../../etc/passwd"));
        Assert.Equal("invalid_job_id", HubErrors.Code(badId));
        var foreign = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => client.SubscribeAsync(Guid.NewGuid().ToString("N")));
        Assert.Equal("job_not_found", HubErrors.Code(foreign));
    }

    [Fact]
    public async Task Rest_refuses_bad_input_with_problem_json_before_queueing()
    {
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway() };
        async Task Expect(HttpResponseMessage response, HttpStatusCode status, string code)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            Assert.Equal(code, (await response.ReadJsonAsync()).GetProperty("code").GetString());
        }
        await Expect(await http.PostAsync("/v1/models/ocr-rec/jobs", Http.Body([]), Ct), HttpStatusCode.BadRequest, "empty_body");
        await Expect(await http.PostAsync("/v1/models/ocr-rec/jobs", Http.Body("BM not an image"u8.ToArray()), Ct), HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        await Expect(await http.PostAsync("/v1/models/nope/jobs", Http.Body(Fixtures.Bytes("line-001.png")), Ct), HttpStatusCode.NotFound, "model_not_found");
        await Expect(await http.PostAsync("/v1/models/..%2F..%2Fetc/jobs", Http.Body(Fixtures.Bytes("line-001.png")), Ct), HttpStatusCode.BadRequest, "invalid_model_name");
        await Expect(await http.PostAsync("/v1/models/ocr-rec/jobs", Http.Body(new byte[11 * 1024 * 1024]), Ct), HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        await Expect(await http.GetAsync("/v1/jobs/not-an-id", Ct), HttpStatusCode.BadRequest, "invalid_job_id");
        await Expect(await http.GetAsync($"/v1/jobs/{Guid.NewGuid():N}", Ct), HttpStatusCode.NotFound, "job_not_found");
    }

    [Fact]
    public async Task Same_idempotency_key_returns_the_same_job()
    {
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway() };
        var key = Guid.NewGuid().ToString();
        HttpRequestMessage Request() => new(HttpMethod.Post, "/v1/models/ocr-cls/jobs")
        {
            Content = Http.Body(Fixtures.Bytes("line-002.png")),
            Headers = { { "Idempotency-Key", key } },
        };
        using var first = await http.SendAsync(Request(), Ct);
        using var second = await http.SendAsync(Request(), Ct);

        Assert.Equal((await first.ReadJobAsync()).Id, (await second.ReadJobAsync()).Id);
    }

    [Fact]
    public async Task Predict_answers_synchronously_with_the_output_and_its_gateway_hears_only_the_final_state()
    {
        // What the job store tells the gateway holding the request, on that gateway's own channel (all of them here).
        using var redis = await ConnectionMultiplexer.ConnectAsync(system.CacheConnection);
        var notices = new ConcurrentQueue<JobRecord>();
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Pattern(RedisKeys.WaiterChannelPrefix + "*"),
            (_, message) => notices.Enqueue(JobJson.Deserialize(message!)));
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway() };
        using var response = await http.PostAsync("/v1/models/ocr-rec/predict", Http.Body(Fixtures.Bytes("line-012.png")), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await response.ReadJobAsync();
        Assert.Equal(JobStatus.Succeeded, record.Status);
        Assert.Equal(Fixtures.LineText("line-012.png"), record.Output!.Value.GetProperty("text").GetString());
        // One notice, the result: the running state is no use to a waiting request (one channel, so an earlier notice
        // would have arrived before the final one).
        for (var deadline = DateTime.UtcNow.AddSeconds(10); !notices.Any(n => n.Id == record.Id && n.IsTerminal); await Task.Delay(50, Ct))
        {
            Assert.True(DateTime.UtcNow < deadline, "the final state was not published to the waiting gateway");
        }
        Assert.Equal([JobStatus.Succeeded], notices.Where(n => n.Id == record.Id).Select(n => n.Status));
    }

    [Fact]
    public async Task Models_list_shows_versions_and_which_are_served()
    {
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway() };
        // A worker reports ready in its next heartbeat (every 2 s) after it starts consuming.
        JsonElement rec = default;
        for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline; await Task.Delay(500, Ct))
        {
            var models = await http.GetFromJsonAsync<JsonElement>("/v1/models", Ct);
            rec = models.EnumerateArray().Single(m => m.GetProperty("name").GetString() == "ocr-rec");
            if (rec.GetProperty("ready").GetBoolean())
            {
                break;
            }
        }
        Assert.Equal("text-recognition", rec.GetProperty("task").GetString());
        Assert.Equal(1, rec.GetProperty("latestVersion").GetInt32());
        Assert.True(rec.GetProperty("ready").GetBoolean());
        Assert.Equal([1], rec.GetProperty("servingVersions").EnumerateArray().Select(v => v.GetInt32()));
    }
}
