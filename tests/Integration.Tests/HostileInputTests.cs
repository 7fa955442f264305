using System.Net;
using System.Text;

namespace Integration.Tests;

/// <summary>Garbage at the public surface gets a documented 4xx with a problem body — never a 5xx, crash or hang.</summary>
public sealed class HostileInputTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_thousand_mutated_requests_get_no_server_error()
    {
        var random = new Random(20261121);
        var png = Fixtures.Bytes("line-001.png")[..400]; // the header and the start: enough to mutate
        var oip = """{"id":"f","inputs":[{"name":"x","shape":[1,3,48,8],"datatype":"FP32","data":[0,1,2,3]}]}"""u8.ToArray();
        var paths = new[] { "/v1/models/ocr-cls/jobs", "/v1/models/ocr-cls/predict", "/v2/models/ocr-cls/infer", "/v1/jobs/" };
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var http = new GatewayHttpClient { BaseAddress = system.Gateway(), Timeout = TimeSpan.FromSeconds(60) };
        var restartsBefore = system.Aspire.TotalRestarts("gateway");
        var requests = Enumerable.Range(0, 10_000).Select(i => Mutate(random, i, png, oip, paths)).ToList();

        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = Ct }, async (r, ct) =>
        {
            using var message = new HttpRequestMessage(r.Method, r.Path) { Content = r.Body is null ? null : new ByteArrayContent(r.Body) };
            using var response = await http.SendAsync(message, ct);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            var body = await response.Content.ReadAsStringAsync(ct);
            var status = (int)response.StatusCode;
            var type = response.Content.Headers.ContentType?.MediaType;
            var ok = status switch
            {
                >= 500 => false,
                // Kestrel itself refuses a request target holding NUL or CR before any middleware runs: bare 400.
                400 when body.Length == 0 && (r.Path.Contains("%00", StringComparison.Ordinal) || r.Path.Contains("%0D", StringComparison.Ordinal) || r.Path.Contains("%0A", StringComparison.Ordinal)) => true,
                >= 400 when r.Path.StartsWith("/v2", StringComparison.Ordinal) => body.Contains("\"error\"", StringComparison.Ordinal) || type == "application/problem+json",
                >= 400 => type == "application/problem+json" && body.Contains("\"status\"", StringComparison.Ordinal),
                _ => true,
            };
            if (!ok)
            {
                failures.Enqueue($"{r.Method} {r.Path} → {status} {type}: {body[..Math.Min(200, body.Length)]}");
            }
        });

        var report = string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
        TestContext.Current.TestOutputHelper?.WriteLine($"10,000 mutated requests by status: {report}");
        Assert.True(failures.IsEmpty, $"{failures.Count} bad answers, e.g. {string.Join("\n", failures.OrderByDescending(f => f.Contains("→ 5", StringComparison.Ordinal)).Take(6))}\nby status: {report}");
        Assert.Equal(10_000, statuses.Values.Sum());
        // The gateways survived it.
        Assert.Equal(restartsBefore, system.Aspire.TotalRestarts("gateway"));
        Assert.All(system.Aspire.Replicas("gateway"), s => Assert.True(s.IsRunning));
    }

    private sealed record FuzzRequest(HttpMethod Method, string Path, byte[]? Body);

    private static FuzzRequest Mutate(Random random, int i, byte[] png, byte[] oip, string[] paths)
    {
        var path = paths[random.Next(paths.Length)];
        if (path == "/v1/jobs/")
        {
            // Job ids: random text, traversal attempts, control characters, valid-looking foreign ids.
            var id = random.Next(4) switch
            {
                0 => Guid.NewGuid().ToString("N"),
                1 => "../../etc/passwd",
                2 => Uri.EscapeDataString(new string(Enumerable.Range(0, random.Next(1, 40)).Select(_ => (char)random.Next(1, 127)).ToArray())),
                _ => new string('a', random.Next(1, 300)),
            };
            return new FuzzRequest(random.Next(3) == 0 ? HttpMethod.Delete : HttpMethod.Get, path + id + (random.Next(3) == 0 ? "?wait=abc" : ""), null);
        }
        if (random.Next(10) == 0)
        {
            // A hostile model name in the path.
            var name = random.Next(3) switch
            {
                0 => "..%2F..%2Fetc",
                1 => Uri.EscapeDataString(Encoding.Latin1.GetString(Enumerable.Range(0, random.Next(1, 20)).Select(_ => (byte)random.Next(0, 256)).ToArray())),
                _ => new string('m', random.Next(60, 200)),
            };
            path = path.Replace("ocr-cls", name, StringComparison.Ordinal);
        }
        var body = (random.Next(2) == 0 ? png : oip).ToArray();
        switch (random.Next(5))
        {
            case 0: // flip bytes
                for (var k = random.Next(1, 8); k > 0; k--)
                {
                    body[random.Next(body.Length)] ^= (byte)(1 << random.Next(8));
                }
                break;
            case 1: // truncate
                body = body[..random.Next(body.Length)];
                break;
            case 2: // insert junk
                var at = random.Next(body.Length);
                var junk = new byte[random.Next(1, 64)];
                random.NextBytes(junk);
                body = [.. body[..at], .. junk, .. body[at..]];
                break;
            case 3: // deep nesting or a wrong datatype in OIP
                body = random.Next(2) == 0
                    ? Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":" + new string('[', 200) + "1" + new string(']', 200) + "}]}")
                    : Encoding.UTF8.GetBytes("{\"inputs\":[{\"name\":\"x\",\"shape\":[1,1],\"datatype\":\"" + "QUUX" + "\",\"data\":[1]}]}");
                break;
            default: // random bytes
                body = new byte[random.Next(0, 300)];
                random.NextBytes(body);
                break;
        }
        return new FuzzRequest(HttpMethod.Post, path, body);
    }
}
