using System.Text.Json;
using Contracts.Jobs;
using TestSupport;
using Library = Client;

namespace Integration.Tests;

/// <summary>The CLI run for real as a process against the system, and the <see cref="Library.InferenceClient"/> it is built on.</summary>
public sealed class CliTests(SystemFixture system)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Infer_prints_one_json_line_per_file_with_the_recognized_text()
    {
        var (exit, stdout, stderr) = await RunCliAsync(
            "infer", "--model", "ocr-rec", "--format", "jsonl", "--gateway", system.Gateway(0).ToString(), "line-001.png", "line-002.png");

        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["line-001.png", "line-002.png"], lines.Select(l => l.GetProperty("file").GetString()));
        foreach (var line in lines)
        {
            Assert.Equal("succeeded", line.GetProperty("status").GetString());
            Assert.Matches("^[0-9a-f]{32}$", line.GetProperty("id").GetString());
            Assert.Equal(Fixtures.LineText(line.GetProperty("file").GetString()!),
                line.GetProperty("output").GetProperty("text").GetString()!.Trim());
            Assert.True(line.GetProperty("timings").GetProperty("totalMs").GetDouble() > 0);
        }
        Assert.Contains("2 succeeded (2 files in", stderr);
    }

    [Fact]
    public async Task Infer_on_a_directory_prints_a_table_of_its_images()
    {
        var directory = Directory.CreateTempSubdirectory("cli-images-").FullName;
        try
        {
            File.Copy(Path.Combine(Fixtures.OcrDirectory, "line-003.png"), Path.Combine(directory, "a.png"));
            File.Copy(Path.Combine(Fixtures.OcrDirectory, "line-004.jpg"), Path.Combine(directory, "b.jpg"));
            File.WriteAllText(Path.Combine(directory, "notes.txt"), "not an image");

            var (exit, stdout, stderr) = await RunCliAsync("infer", "-m", "ocr-rec", "-g", system.Gateway(1).ToString(), directory);

            Assert.True(exit == 0, stderr);
            Assert.Contains(Fixtures.LineText("line-003.png"), stdout);
            Assert.Contains(Fixtures.LineText("line-004.jpg"), stdout);
            Assert.DoesNotContain("notes.txt", stdout);
            Assert.Contains("2 succeeded", stderr);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_model_exits_with_2_and_a_one_line_error()
    {
        var (exit, stdout, stderr) = await RunCliAsync("infer", "-m", "no-such-model", "-g", system.Gateway(0).ToString(), "line-001.png", "line-002.png");

        Assert.Equal(2, exit);
        Assert.Empty(stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("no-such-model", line);
    }

    [Fact]
    public async Task A_failed_job_makes_exit_code_1_and_its_line_carries_the_error()
    {
        var corrupt = Path.Combine(Path.GetTempPath(), $"corrupt-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(corrupt, Fixtures.CorruptPng(), Ct);
        try
        {
            var (exit, stdout, stderr) = await RunCliAsync(
                "infer", "-m", "ocr-rec", "-f", "jsonl", "-g", system.Gateway(0).ToString(), "line-001.png", corrupt);

            Assert.Equal(1, exit);
            var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(["succeeded", "failed"], lines.Select(l => l.GetProperty("status").GetString()));
            Assert.Equal(JobErrorCodes.InvalidInput, lines[1].GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("1 succeeded, 1 failed", stderr);
        }
        finally
        {
            File.Delete(corrupt);
        }
    }

    [Fact]
    public async Task Models_list_shows_the_served_models()
    {
        var (exit, stdout, stderr) = await RunCliAsync("models", "list", "-g", system.Gateway(1).ToString());

        Assert.True(exit == 0, stderr);
        Assert.Contains(stdout.Split('\n'), row => row.Contains("ocr-rec") && row.Contains("text-recognition"));
    }

    [Fact]
    public async Task InferenceClient_submits_on_gateway_0_and_WaitAsync_returns_the_pushed_result()
    {
        await using var client = await Library.InferenceClient.ConnectAsync(system.Gateway(0), new Library.InferenceClientOptions { ApiKey = SystemFixture.ApiKey }, Ct);
        var updates = new List<JobRecord>();
        client.JobUpdated += update => { lock (updates) { updates.Add(update); } };

        var id = await client.SubmitAsync("ocr-rec", Fixtures.Bytes("line-001.png"), new Library.SubmitOptions(TimeoutSeconds: 60), Ct);
        var record = await client.WaitAsync(id, TimeSpan.FromSeconds(60), Ct);

        Assert.Equal((id, JobStatus.Succeeded), (record.Id, record.Status));
        Assert.Equal(Fixtures.LineText("line-001.png"), record.Output!.Value.GetProperty("text").GetString()!.Trim());
        lock (updates)
        {
            Assert.Contains(updates, u => u.Id == id && u.IsTerminal);
        }
    }

    [Fact]
    public async Task InferenceClient_REST_calls_submit_wait_predict_and_report_problems()
    {
        await using var client = new Library.InferenceClient(system.Gateway(1), new Library.InferenceClientOptions { ApiKey = SystemFixture.ApiKey });

        var accepted = await client.SubmitRestAsync("ocr-rec", Fixtures.Bytes("line-002.png"), new Library.SubmitOptions(IdempotencyKey: Guid.NewGuid().ToString("N")), Ct);
        var finished = await client.GetJobAsync(accepted.Id, TimeSpan.FromSeconds(30), Ct);
        var predicted = await client.PredictAsync("ocr-rec", Fixtures.Bytes("line-002.png"), Ct);
        var error = await Assert.ThrowsAsync<Library.InferenceApiException>(() => client.PredictAsync("no-such-model", Fixtures.Bytes("line-002.png"), Ct));

        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal(Fixtures.LineText("line-002.png"), finished.Output!.Value.GetProperty("text").GetString()!.Trim());
        Assert.Equal(JobStatus.Succeeded, predicted.Status);
        Assert.Equal((404, "model_not_found"), (error.Status, error.Code));
        Assert.Contains(await client.ListModelsAsync(Ct), m => m.Name == "ocr-rec" && m.Ready);
    }

    /// <summary>Runs the built CLI (Client/bin/{configuration}/net10.0/Client.dll) in the fixtures directory.</summary>
    internal static Task<(int Exit, string Stdout, string Stderr)> RunCliAsync(params string[] args) =>
        BuiltCli.RunAsync(Fixtures.OcrDirectory, new Dictionary<string, string> { [Library.InferenceClientOptions.ApiKeyVariable] = SystemFixture.ApiKey }, args, Ct);
}
