using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Contracts.Jobs;
using Npgsql;

namespace Integration.Tests;

/// <summary>
/// The usage ledger's promise on the real graph: every job that reached a terminal state is one row in PostgreSQL,
/// whatever happened meanwhile, and the usage API sums those rows at the configured prices.
/// </summary>
public sealed class LedgerTests(SystemFixture system)
{
    private const int Jobs = 1000;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_thousand_jobs_from_three_accounts_through_failures_cancellations_a_worker_kill_and_a_postgres_restart_are_each_in_the_ledger_once()
    {
        // Both workers up (a test before may have restarted one), so the one killed below is a running process.
        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        var from = DateTimeOffset.UtcNow.AddMinutes(-1);
        using var anonymous = new HttpClient { BaseAddress = system.Gateway(0) };
        var accounts = new List<AccountsTests.NewAccount>();
        for (var i = 0; i < 3; i++)
        {
            accounts.Add((await AccountsTests.RegisterAsync(anonymous)).Account);
        }
        var clients = accounts.SelectMany(a => new[] { AccountsTests.Authorized(system.Gateway(0), a.ApiKey), AccountsTests.Authorized(system.Gateway(1), a.ApiKey) }).ToArray();
        var image = Fixtures.Bytes("line-015.png");
        var submitted = new ConcurrentDictionary<string, int>(); // job id → account index
        var restartsBefore = system.Aspire.Restarts("worker", 0);
        Task? postgresRestart = null;
        try
        {
            using var gate = new SemaphoreSlim(24);
            var sends = Enumerable.Range(0, Jobs).Select(async i =>
            {
                await gate.WaitAsync(Ct);
                try
                {
                    // A third of the way in a worker dies; two thirds in PostgreSQL restarts.
                    if (i == Jobs / 3)
                    {
                        KillWorker();
                    }
                    if (i == 2 * Jobs / 3)
                    {
                        postgresRestart = system.Aspire.RestartReplicaAsync("postgres", 0);
                    }
                    var account = i % 3;
                    var http = clients[2 * account + i % 2];
                    // Mostly ocr-cls; some that fail in the worker, some cancelled at once, some with a deadline too short to make.
                    var (model, query) = (i % 20) switch
                    {
                        0 => ("faulty", ""),
                        1 => ("ocr-cls", "?timeout=0.01"),
                        _ => ("ocr-cls", ""),
                    };
                    // With a worker down the queue can fill: a refused job (429 queue_full) is retried as a client would.
                    var response = await http.PostAsync($"/v1/models/{model}/jobs{query}", Http.Body(image), Ct);
                    for (var attempt = 1; response.StatusCode == HttpStatusCode.TooManyRequests && attempt < 120; attempt++)
                    {
                        Assert.Equal("queue_full", (await response.ReadJsonAsync()).GetProperty("code").GetString());
                        response.Dispose();
                        await Task.Delay(250, Ct);
                        response = await http.PostAsync($"/v1/models/{model}/jobs{query}", Http.Body(image), Ct);
                    }
                    using var accepted = response;
                    Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
                    var id = (await accepted.ReadJobAsync()).Id;
                    submitted[id] = account;
                    if (i % 20 == 2)
                    {
                        using var cancel = await http.DeleteAsync($"/v1/jobs/{id}", Ct); // 200 while queued, 409 once it started or finished
                        Assert.Contains(cancel.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict });
                    }
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(sends);
            if (postgresRestart is not null)
            {
                await postgresRestart;
            }
        }
        finally
        {
            await system.Aspire.WaitForHealthyAsync("postgres", TimeSpan.FromSeconds(90), Ct);
        }

        // Every job ends; what the clients see is what the ledger must hold.
        var finals = new Dictionary<string, JobRecord>();
        foreach (var (id, account) in submitted)
        {
            var record = await Http.WaitTerminalAsync(clients[2 * account], id, seconds: 120);
            Assert.True(record.IsTerminal, $"job {id} is still {record.Status}");
            finals[id] = record;
        }
        Assert.Equal(Jobs, finals.Count);
        Assert.Contains(finals.Values, r => r.Status == JobStatus.Failed);
        Assert.Contains(finals.Values, r => r.Status == JobStatus.Cancelled);
        Assert.Contains(finals.Values, r => r.Status == JobStatus.Succeeded);

        // The ledger catches up (its writers retry while PostgreSQL was away): one row per job, with the job's account and status.
        var lag = System.Diagnostics.Stopwatch.StartNew();
        var rows = await WaitForLedgerAsync(finals.Keys.ToArray(), TimeSpan.FromSeconds(60));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{finals.Count} jobs: {string.Join(", ", finals.Values.GroupBy(r => r.Status).Select(g => $"{g.Count()} {g.Key.ToWire()}"))}; " +
            $"{rows.Count} ledger rows {lag.Elapsed.TotalSeconds:0.0} s after the last job ended");
        var missing = finals.Keys.Except(rows.Keys).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} finished jobs are not in the ledger, e.g. {string.Join(", ", missing.Take(5))}");
        Assert.Equal(Jobs, rows.Count);
        foreach (var (id, record) in finals)
        {
            var row = rows[id];
            Assert.Equal(1, row.Count);
            Assert.Equal(accounts[submitted[id]].AccountId.ToString(), row.Account);
            Assert.Equal(record.Status.ToWire(), row.Status);
            Assert.Equal(record.Model, row.Model);
        }

        // What each account's usage says is what its jobs were, at this system's prices.
        var to = DateTimeOffset.UtcNow.AddMinutes(1);
        for (var a = 0; a < accounts.Count; a++)
        {
            var mine = finals.Values.Where(r => submitted[r.Id] == a).ToList();
            var usage = await clients[2 * a + 1].GetFromJsonAsync<JsonElement>(
                $"/v1/usage?from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}", Http.Json, Ct);
            var lines = usage.GetProperty("lines").EnumerateArray().ToList();
            Assert.True(mine.Count == usage.GetProperty("jobs").GetInt64(),
                $"account {a}: {mine.Count} jobs ended, its usage counts {usage.GetProperty("jobs").GetInt64()} (finished {mine.Min(r => r.FinishedAt):O} … {mine.Max(r => r.FinishedAt):O}, asked {from:O} … {to:O}): {usage}");
            foreach (var status in new[] { JobStatus.Succeeded, JobStatus.Failed, JobStatus.Expired, JobStatus.Cancelled })
            {
                Assert.Equal(mine.Count(r => r.Status == status), lines.Sum(l => l.GetProperty(status.ToWire()).GetInt64()));
            }
            var succeeded = mine.Where(r => r.Status == JobStatus.Succeeded).ToList();
            var expected = succeeded.Sum(r => r.Model == "ocr-cls" ? SystemFixture.ClsPricePerJob : SystemFixture.PricePerJob)
                + SystemFixture.ClsPricePerComputeSecond * (decimal)(succeeded.Where(r => r.Model == "ocr-cls").Sum(r => r.Timings?.ComputeMs ?? 0) / 1000);
            Assert.InRange(usage.GetProperty("amount").GetDecimal(), expected - 0.000001m, expected + 0.000001m);
            Assert.Equal("USD", usage.GetProperty("currency").GetString());
        }

        // The operator's view: every account's lines, each naming its account, with the same sums.
        using var admin = new HttpClient { BaseAddress = system.Gateway(0) };
        admin.DefaultRequestHeaders.Add("X-Admin-Key", system.AdminKey);
        var range = $"from={Uri.EscapeDataString(from.ToString("O"))}&to={Uri.EscapeDataString(to.ToString("O"))}";
        var all = await admin.GetFromJsonAsync<JsonElement>($"/v1/admin/usage?{range}&granularity=hour", Http.Json, Ct);
        var perAccount = all.GetProperty("lines").EnumerateArray()
            .GroupBy(l => l.GetProperty("accountId").GetString())
            .ToDictionary(g => g.Key!, g => g.Sum(l => l.GetProperty("jobs").GetInt64()));
        for (var a = 0; a < accounts.Count; a++)
        {
            Assert.True(finals.Values.Count(r => submitted[r.Id] == a) == perAccount.GetValueOrDefault(accounts[a].AccountId.ToString()),
                $"account {a}: {finals.Values.Count(r => submitted[r.Id] == a)} jobs ended, the admin view counts {perAccount.GetValueOrDefault(accounts[a].AccountId.ToString())}: {all}");
        }
        using (var noKey = await clients[0].GetAsync($"/v1/admin/usage?{range}", Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode); // an account's key is not the admin key
        }
        using (var backwards = await clients[0].GetAsync($"/v1/usage?from={Uri.EscapeDataString(to.ToString("O"))}&to={Uri.EscapeDataString(from.ToString("O"))}", Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, backwards.StatusCode);
            Assert.Equal("invalid_usage_query", (await backwards.ReadJsonAsync()).GetProperty("code").GetString());
        }

        // The CLI's CSV of the first account: one line per bucket and model, adding up to its jobs.
        var (exit, csv, stderr) = await CliTests.RunCliAsync("usage", "--gateway", system.Gateway(1).ToString(), "--api-key", accounts[0].ApiKey,
            "--from", from.ToString("O"), "--to", to.ToString("O"), "--format", "csv");
        Assert.True(exit == 0, stderr);
        var csvLines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("start,model,jobs,succeeded,failed,expired,cancelled,compute_seconds,input_bytes,amount,currency", csvLines[0]);
        Assert.Equal(finals.Values.Count(r => submitted[r.Id] == 0), csvLines.Skip(1).Sum(l => long.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.All(csvLines.Skip(1), l => Assert.EndsWith(",USD", l, StringComparison.Ordinal));

        await system.Aspire.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        await system.Aspire.WaitUntilAsync(m => m.Restarts("worker", 0) > restartsBefore, TimeSpan.FromSeconds(90), Ct);
    }

    /// <summary>kill -9 of worker replica 0's own process (the one Aspire's `dotnet run` host started).</summary>
    private void KillWorker()
    {
        var victim = system.Aspire.Replica("worker", 0);
        Assert.True(victim.IsRunning && victim.ServicePid is not null, $"worker 0 is not running ({victim.State})");
        System.Diagnostics.Process.GetProcessById(victim.ServicePid!.Value).Kill();
    }

    private sealed record LedgerRow(string? Account, string Model, string Status, int Count);

    /// <summary>The ledger's rows of <paramref name="ids"/> (with how many rows each id has), once all are there or the time is up.</summary>
    private async Task<Dictionary<string, LedgerRow>> WaitForLedgerAsync(string[] ids, TimeSpan timeout)
    {
        await using var database = NpgsqlDataSource.Create(await system.Aspire.GetConnectionStringAsync("accounts"));
        var rows = new Dictionary<string, LedgerRow>();
        for (var deadline = DateTime.UtcNow + timeout; ; await Task.Delay(500, Ct))
        {
            await using var command = database.CreateCommand(
                "SELECT job_id, min(account_id), min(model), min(status), count(*) FROM usage_ledger WHERE job_id = ANY($1) GROUP BY job_id");
            command.Parameters.Add(new NpgsqlParameter { Value = ids });
            await using var reader = await command.ExecuteReaderAsync(Ct);
            rows.Clear();
            while (await reader.ReadAsync(Ct))
            {
                rows[reader.GetString(0)] = new LedgerRow(reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2), reader.GetString(3), (int)reader.GetInt64(4));
            }
            if (rows.Count >= ids.Length || DateTime.UtcNow > deadline)
            {
                return rows;
            }
        }
    }
}
