using System.CommandLine;
using System.Globalization;
using Client.Bench;
using Contracts.Jobs;
using Spectre.Console;

namespace Client.Cli;

/// <summary><c>bench --model NAME --input FILES…</c>: a load generator; latency percentiles, throughput, errors, JSON and HTML reports.</summary>
public sealed class BenchCommand : Command
{
    public BenchCommand(CliConsole console) : base("bench", "Load-test a model through the gateway: closed or open loop, over SignalR or REST")
    {
        Add(Model);
        Add(Gateway);
        Add(ApiKey);
        Add(Transport);
        Add(Protocol);
        Add(Mode);
        Add(Clients);
        Add(Rate);
        Add(Duration);
        Add(Warmup);
        Add(Timeout);
        Add(Input);
        Add(JsonOut);
        Add(HtmlOut);
        Add(new BenchConnectionsCommand(console));
        Validators.Add(r =>
        {
            if (r.GetValue(Mode) == BenchMode.Open && r.GetValue(Rate) is null)
            {
                r.AddError("--mode open needs --rate (jobs per second).");
            }
        });
        SetAction((parse, cancellationToken) => RunAsync(parse, console, cancellationToken));
    }

    public Option<string> Model { get; } = new("--model", "-m") { Description = "Model name (see 'models list')", Required = true, HelpName = "NAME" };

    public Option<Uri> Gateway { get; } = GatewayOption.Create();

    public Option<string?> ApiKey { get; } = ApiKeyOption.Create();

    public Option<BenchTransport> Transport { get; } = new("--transport")
    {
        Description = "signalr: submit over the hub, result pushed; rest: POST /v1/models/{m}/predict (submit and wait); " +
            "jobs: POST /v1/models/{m}/jobs, then GET /v1/jobs/{id}?wait= (long poll); oip: POST /v2/models/{m}/infer",
        DefaultValueFactory = _ => BenchTransport.SignalR,
    };

    public Option<HubProtocol> Protocol { get; } = ProtocolOption.Create();

    public Option<BenchMode> Mode { get; } = new("--mode")
    {
        Description = "closed: N clients, each sends when its last job finished; open: constant arrival rate",
        DefaultValueFactory = _ => BenchMode.Closed,
    };

    public Option<int> Clients { get; } = new("--clients", "-c")
    {
        Description = "Closed loop: concurrent clients; both modes: connections (one per client)",
        DefaultValueFactory = _ => 16,
        HelpName = "N",
        Validators = { r => { if (r.GetValueOrDefault<int>() is < 1 or > 10000) r.AddError("--clients is from 1 to 10000."); } },
    };

    public Option<double?> Rate { get; } = new("--rate", "-r")
    {
        Description = "Open loop: jobs per second, sent on a fixed schedule; latency counts from each scheduled time",
        HelpName = "R",
        Validators = { r => { if (r.GetValueOrDefault<double?>() is <= 0) r.AddError("--rate is a positive number of jobs per second."); } },
    };

    public Option<double> Duration { get; } = new("--duration", "-d")
    {
        Description = "Seconds measured (after the warm-up)",
        DefaultValueFactory = _ => 20,
        HelpName = "S",
        Validators = { r => { if (r.GetValueOrDefault<double>() <= 0) r.AddError("--duration is a positive number of seconds."); } },
    };

    public Option<double> Warmup { get; } = new("--warmup", "-w")
    {
        Description = "Seconds of load before measuring (not counted)",
        DefaultValueFactory = _ => 5,
        HelpName = "S",
        Validators = { r => { if (r.GetValueOrDefault<double>() < 0) r.AddError("--warmup is zero or more seconds."); } },
    };

    public Option<double> Timeout { get; } = new("--timeout", "-t")
    {
        Description = "Seconds a job may take before it counts as a 'timeout' error",
        DefaultValueFactory = _ => 60,
        HelpName = "S",
    };

    public Option<string[]> Input { get; } = new("--input", "-i")
    {
        Description = "Image files or directories of them, sent in turn",
        Required = true,
        AllowMultipleArgumentsPerToken = true,
        HelpName = "FILE|DIR",
    };

    public Option<FileInfo?> JsonOut { get; } = new("--json") { Description = "Write the report as JSON here", HelpName = "FILE" };

    public Option<FileInfo?> HtmlOut { get; } = new("--html") { Description = "Write a self-contained HTML report (SVG plots) here", HelpName = "FILE" };

    public BenchSettings Settings(ParseResult parse, IReadOnlyList<string> files) => new(
        parse.GetValue(Gateway)!,
        parse.GetValue(Model)!,
        parse.GetValue(Transport),
        parse.GetValue(Mode),
        parse.GetValue(Clients),
        parse.GetValue(Rate) ?? 0,
        TimeSpan.FromSeconds(parse.GetValue(Duration)),
        TimeSpan.FromSeconds(parse.GetValue(Warmup)),
        files,
        parse.GetValue(Timeout),
        parse.GetValue(Protocol),
        parse.GetValue(ApiKey));

    private async Task<int> RunAsync(ParseResult parse, CliConsole console, CancellationToken cancellationToken)
    {
        var (files, errors) = InputFiles.Expand(parse.GetValue(Input)!);
        if (errors.Count > 0)
        {
            await console.Error.WriteLineAsync($"error: {errors[0]}");
            return ExitCodes.UsageOrConnection;
        }
        var settings = Settings(parse, files);
        var inputs = files.Select(File.ReadAllBytes).ToList();

        await using var target = new BenchTarget(settings);
        try
        {
            await target.ConnectAsync(cancellationToken);
            // One job first, alone: an unknown model or a dead gateway is one clear error, not thousands.
            if ((await target.RunJobAsync(0, inputs[0], cancellationToken)).Error is { } refused && refused is "model_not_found" or "invalid_model_name")
            {
                await console.Error.WriteLineAsync($"error: {refused}: '{settings.Model}'");
                return ExitCodes.UsageOrConnection;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync(e is InferenceApiException api ? $"error: {api.Code}: {api.Detail}" : GatewayOption.Unreachable(settings.Gateway, e));
            return ExitCodes.UsageOrConnection;
        }

        var run = new BenchRun(settings, inputs, target.RunJobAsync);
        BenchReport report;
        try
        {
            report = console.Interactive
                ? await WithLiveProgressAsync(console.Ansi, run, settings, cancellationToken)
                : await WithProgressLinesAsync(console.Error, run, settings, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync("interrupted");
            return ExitCodes.Interrupted;
        }

        if (parse.GetValue(JsonOut) is { } json)
        {
            await File.WriteAllTextAsync(json.FullName, BenchReportWriter.ToJson(report), CancellationToken.None);
        }
        if (parse.GetValue(HtmlOut) is { } html)
        {
            await File.WriteAllTextAsync(html.FullName, BenchReportWriter.ToHtml(report), CancellationToken.None);
        }
        WriteSummary(console.Ansi, report);
        return report.Failed == 0 ? ExitCodes.Ok : ExitCodes.JobsFailed;
    }

    public static void WriteSummary(IAnsiConsole console, BenchReport report)
    {
        var l = report.Latency;
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("jobs/s").AddColumn("succeeded").AddColumn("failed")
            .AddColumn("p50 ms").AddColumn("p90 ms").AddColumn("p99 ms").AddColumn("p99.9 ms").AddColumn("max ms");
        foreach (var column in table.Columns)
        {
            column.RightAligned();
        }
        table.AddRow(F(report.Throughput), report.Succeeded.ToString(CultureInfo.InvariantCulture), report.Failed.ToString(CultureInfo.InvariantCulture),
            F(l.P50), F(l.P90), F(l.P99), F(l.P999), F(l.Max));
        console.WriteLine($"{report.Model}: {report.Mode} loop, {report.Transport}, {report.Clients} clients" +
                          (report.Rate is { } r ? $", {F(r)} jobs/s offered" : "") + $", {F(report.DurationSeconds)} s measured");
        console.Write(table);
        if (BenchReportWriter.StagesLine(report) is { } stages)
        {
            console.WriteLine(stages);
        }
        foreach (var (code, count) in report.Errors)
        {
            console.WriteLine($"error {code}: {count}");
        }
    }

    private static async Task<BenchReport> WithLiveProgressAsync(IAnsiConsole console, BenchRun run, BenchSettings settings, CancellationToken cancellationToken)
    {
        BenchReport? report = null;
        await console.Live(new Text("starting…")).AutoClear(true).StartAsync(async context =>
        {
            var running = run.RunAsync(cancellationToken);
            var last = (Completed: 0L, At: TimeSpan.Zero);
            while (!running.IsCompleted)
            {
                await Task.WhenAny(running, Task.Delay(500, CancellationToken.None));
                var line = Progress(run, settings, ref last);
                context.UpdateTarget(new Markup(Markup.Escape(line)));
            }
            report = await running;
        });
        return report!;
    }

    private static async Task<BenchReport> WithProgressLinesAsync(TextWriter error, BenchRun run, BenchSettings settings, CancellationToken cancellationToken)
    {
        var running = run.RunAsync(cancellationToken);
        var last = (Completed: 0L, At: TimeSpan.Zero);
        while (!running.IsCompleted)
        {
            await Task.WhenAny(running, Task.Delay(5000, CancellationToken.None));
            if (!running.IsCompleted)
            {
                await error.WriteLineAsync(Progress(run, settings, ref last));
            }
        }
        return await running;
    }

    private static string Progress(BenchRun run, BenchSettings settings, ref (long Completed, TimeSpan At) last)
    {
        var elapsed = run.Elapsed;
        var completed = run.Recorder.Completed;
        var rate = (completed - last.Completed) / Math.Max(0.001, (elapsed - last.At).TotalSeconds);
        last = (completed, elapsed);
        var (p50, p99, max) = run.Recorder.Snapshot();
        var total = settings.Warmup + settings.Duration;
        var phase = run.Measuring ? "measuring" : "warm-up";
        return string.Create(CultureInfo.InvariantCulture,
            $"{phase} {Math.Min(elapsed.TotalSeconds, total.TotalSeconds):0}/{total.TotalSeconds:0} s · {rate:0.#} jobs/s · done {completed} · failed {run.Recorder.Failed} · p50 {p50:0.##} ms · p99 {p99:0.##} ms · max {max:0.##} ms");
    }

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}

/// <summary>The connections a run uses: one hub connection per client (SignalR), or one pooled HTTP client (REST, OIP).</summary>
internal sealed class BenchTarget(BenchSettings settings) : IAsyncDisposable
{
    private readonly List<InferenceClient> _clients = [];
    private HttpClient? _oip;
    private string _oipInput = "x";

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var options = new InferenceClientOptions { RequestTimeout = TimeSpan.FromSeconds(settings.JobTimeoutSeconds), Protocol = settings.Protocol, ApiKey = settings.ApiKey };
        if (settings.Transport == BenchTransport.Oip)
        {
            _oip = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = settings.Clients })
            {
                BaseAddress = settings.Gateway,
                Timeout = options.RequestTimeout,
            };
            if (settings.ApiKey is { Length: > 0 } key)
            {
                _oip.DefaultRequestHeaders.Authorization = new("Bearer", key);
            }
            // The model's input name, from its OIP metadata (one image input, BYTES).
            using var metadata = await _oip.GetAsync($"/v2/models/{Uri.EscapeDataString(settings.Model)}", cancellationToken);
            metadata.EnsureSuccessStatusCode();
            using var body = await System.Text.Json.JsonDocument.ParseAsync(await metadata.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            if (body.RootElement.GetProperty("inputs") is { ValueKind: System.Text.Json.JsonValueKind.Array } inputs && inputs.GetArrayLength() > 0)
            {
                _oipInput = inputs[0].GetProperty("name").GetString() ?? _oipInput;
            }
            return;
        }
        if (settings.Transport is BenchTransport.Rest or BenchTransport.Jobs)
        {
            _clients.Add(new InferenceClient(settings.Gateway, new InferenceClientOptions
            {
                RequestTimeout = options.RequestTimeout,
                ApiKey = settings.ApiKey,
                HttpMessageHandlerFactory = () => new SocketsHttpHandler { MaxConnectionsPerServer = settings.Clients },
            }));
            return;
        }
        for (var i = 0; i < settings.Clients; i += 16)
        {
            var batch = await Task.WhenAll(Enumerable.Range(i, Math.Min(16, settings.Clients - i))
                .Select(_ => InferenceClient.ConnectAsync(settings.Gateway, options, cancellationToken)));
            _clients.AddRange(batch);
        }
    }

    public async Task<JobOutcome> RunJobAsync(int client, byte[] input, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(settings.JobTimeoutSeconds);
        switch (settings.Transport)
        {
            case BenchTransport.Rest:
                // Predict answers with the succeeded record (a failed job throws).
                return JobOutcome.Succeeded(await _clients[0].PredictAsync(settings.Model, input, cancellationToken));
            case BenchTransport.Jobs:
                return Outcome(await SubmitAndPollAsync(input, timeout, cancellationToken));
            case BenchTransport.Oip:
                return await InferOipAsync(input, cancellationToken);
        }
        var connection = _clients[client % _clients.Count];
        var id = await connection.SubmitAsync(settings.Model, input, new SubmitOptions(TimeoutSeconds: settings.JobTimeoutSeconds), cancellationToken);
        return Outcome(await connection.WaitAsync(id, timeout, cancellationToken));
    }

    private static JobOutcome Outcome(JobRecord record) => record.Status == JobStatus.Succeeded
        ? JobOutcome.Succeeded(record)
        : JobOutcome.Failed(record.Error?.Code ?? record.Status.ToString().ToLowerInvariant(), record);

    /// <summary>A REST client's job: queued, then long-polled (each poll up to 60 s, the gateway's bound) until it ends.</summary>
    private async Task<JobRecord> SubmitAndPollAsync(byte[] input, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = _clients[0];
        var record = await client.SubmitRestAsync(settings.Model, input, new SubmitOptions(TimeoutSeconds: settings.JobTimeoutSeconds), cancellationToken);
        var deadline = DateTime.UtcNow + timeout;
        while (!record.IsTerminal && DateTime.UtcNow < deadline)
        {
            var wait = TimeSpan.FromSeconds(Math.Clamp((deadline - DateTime.UtcNow).TotalSeconds, 1, 60));
            record = await client.GetJobAsync(record.Id, wait, cancellationToken);
        }
        return record;
    }

    /// <summary>One OIP infer request: 200 with outputs, or the error OIP's JSON names.</summary>
    private async Task<JobOutcome> InferOipAsync(byte[] input, CancellationToken cancellationToken)
    {
        var request = new System.Text.Json.Nodes.JsonObject
        {
            ["inputs"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject
            {
                ["name"] = _oipInput,
                ["datatype"] = "BYTES",
                ["shape"] = new System.Text.Json.Nodes.JsonArray(1),
                ["data"] = new System.Text.Json.Nodes.JsonArray(Convert.ToBase64String(input)),
            }),
        };
        using var response = await _oip!.PostAsync($"/v2/models/{Uri.EscapeDataString(settings.Model)}/infer",
            new StringContent(request.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            await response.Content.CopyToAsync(Stream.Null, cancellationToken);
            return JobOutcome.Succeeded();
        }
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return JobOutcome.Failed($"http {(int)response.StatusCode}: {text[..Math.Min(text.Length, 200)]}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
        _oip?.Dispose();
    }
}
