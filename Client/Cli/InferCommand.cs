using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;

namespace Client.Cli;

/// <summary><c>infer --model NAME FILES…</c>: submits every file over the hub, shows progress, prints the results.</summary>
public sealed class InferCommand : Command
{
    public InferCommand(CliConsole console) : base("infer", "Run a model on image files (or the images in directories)")
    {
        Add(Model);
        Add(Gateway);
        Add(ApiKey);
        Add(Protocol);
        Add(Format);
        Add(Concurrency);
        Add(Timeout);
        Add(Files);
        SetAction((parse, cancellationToken) => RunAsync(parse, console, cancellationToken));
    }

    public Option<string> Model { get; } = new("--model", "-m") { Description = "Model name (see 'models list')", Required = true, HelpName = "NAME" };

    public Option<Uri> Gateway { get; } = GatewayOption.Create();

    public Option<string?> ApiKey { get; } = ApiKeyOption.Create();

    public Option<HubProtocol> Protocol { get; } = ProtocolOption.Create();

    public Option<OutputFormat> Format { get; } = new("--format", "-f")
    {
        Description = "How results are printed: a table, or one JSON object per file",
        DefaultValueFactory = _ => OutputFormat.Table,
    };

    public Option<int> Concurrency { get; } = new("--concurrency", "-c")
    {
        Description = "How many jobs are in flight at once",
        DefaultValueFactory = _ => 8,
        HelpName = "N",
        Validators = { r => { if (r.GetValueOrDefault<int>() is < 1 or > 1000) r.AddError("--concurrency is from 1 to 1000."); } },
    };

    public Option<double?> Timeout { get; } = new("--timeout", "-t")
    {
        Description = "Seconds a job may wait and run before it expires (default: the gateway's)",
        HelpName = "S",
        Validators = { r => { if (r.GetValueOrDefault<double?>() is <= 0) r.AddError("--timeout is a positive number of seconds."); } },
    };

    public Argument<string[]> Files { get; } = new("files")
    {
        Description = "Image files (jpg, png, webp) or directories of them",
        Arity = ArgumentArity.OneOrMore,
    };

    private async Task<int> RunAsync(ParseResult parse, CliConsole console, CancellationToken cancellationToken)
    {
        var (files, errors) = InputFiles.Expand(parse.GetValue(Files)!);
        if (errors.Count > 0)
        {
            await console.Error.WriteLineAsync($"error: {errors[0]}");
            return ExitCodes.UsageOrConnection;
        }

        var gateway = parse.GetValue(Gateway)!;
        InferenceClient client;
        try
        {
            client = await InferenceClient.ConnectAsync(gateway, new InferenceClientOptions { Protocol = parse.GetValue(Protocol), ApiKey = parse.GetValue(ApiKey) }, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync(GatewayOption.Unreachable(gateway, e));
            return ExitCodes.UsageOrConnection;
        }

        await using (client)
        {
            var run = new InferRun(client, parse.GetValue(Model)!, parse.GetValue(Timeout), parse.GetValue(Concurrency));
            var clock = Stopwatch.StartNew();
            IReadOnlyList<FileResult> results;
            try
            {
                results = console.Interactive
                    ? await WithLiveProgressAsync(console.Ansi, run, files, cancellationToken)
                    : await run.RunAsync(files, r => console.Error.WriteLine(
                        $"[{run.Done}/{files.Count}] {r.File} {r.Status}{(r.Job?.Timings?.TotalMs is { } ms ? $" {ms:0} ms" : "")}"), cancellationToken);
            }
            catch (InferenceApiException e) when (e.Code is "model_not_found" or "invalid_model_name")
            {
                await console.Error.WriteLineAsync($"error: {e.Detail}");
                return ExitCodes.UsageOrConnection;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                var cancelled = await run.CancelPendingAsync(TimeSpan.FromSeconds(2));
                await console.Error.WriteLineAsync($"interrupted: {run.Done} of {files.Count} files finished, {cancelled} jobs in flight cancelled");
                return ExitCodes.Interrupted;
            }
            catch (InferenceConnectionException e)
            {
                await console.Error.WriteLineAsync(GatewayOption.Unreachable(gateway, e));
                return ExitCodes.UsageOrConnection;
            }

            if (parse.GetValue(Format) == OutputFormat.Jsonl)
            {
                ResultWriter.WriteJsonLines(console.Out, results);
            }
            else
            {
                ResultWriter.WriteTable(console.Ansi, results);
            }
            await console.Error.WriteLineAsync(ResultWriter.Summary(results, clock.Elapsed));
            return results.All(r => r.Succeeded) ? ExitCodes.Ok : ExitCodes.JobsFailed;
        }
    }

    private static async Task<IReadOnlyList<FileResult>> WithLiveProgressAsync(
        IAnsiConsole console, InferRun run, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        IReadOnlyList<FileResult> results = [];
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask(Describe(run, files.Count), maxValue: files.Count);
                var running = run.RunAsync(files, _ => { }, cancellationToken);
                while (!running.IsCompleted)
                {
                    await Task.WhenAny(running, Task.Delay(100, CancellationToken.None));
                    bar.Description = Describe(run, files.Count);
                    bar.Value = run.Done;
                }
                bar.Description = Describe(run, files.Count);
                bar.Value = run.Done;
                results = await running;
            });
        return results;
    }

    private static string Describe(InferRun run, int total) =>
        $"queued [blue]{run.Queued}[/] · running [yellow]{run.Running}[/] · done [green]{run.Done}[/]/{total}" +
        (run.Failed > 0 ? $" · failed [red]{run.Failed}[/]" : "");
}
