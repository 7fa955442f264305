using System.Diagnostics;
using Contracts.Jobs;

namespace Client.Bench;

/// <summary>Runs one job for client <c>client</c> on <c>input</c> and says how it ended.</summary>
public delegate Task<JobOutcome> RunJob(int client, byte[] input, CancellationToken cancellationToken);

/// <summary>
/// How one job ended: <c>Error</c> is null when it succeeded, else its error code; <c>Record</c> is the job's final
/// record when the transport hands one back (its server timestamps tell where the time went).
/// </summary>
public readonly record struct JobOutcome(string? Error, JobRecord? Record = null)
{
    public static JobOutcome Succeeded(JobRecord? record = null) => new(null, record);

    public static JobOutcome Failed(string error, JobRecord? record = null) => new(error, record);
}

/// <summary>
/// Drives the load: closed loop (each client sends its next job when the previous one finished) or open loop
/// (one job every 1/rate s on a fixed schedule, spread over the clients; a job's latency counts from its
/// scheduled time, so a system that falls behind shows it as latency instead of sending less).
/// </summary>
public sealed class BenchRun(BenchSettings settings, IReadOnlyList<byte[]> inputs, RunJob runJob)
{
    private readonly Stopwatch _clock = new();

    public BenchRecorder Recorder { get; } = new(settings.Warmup, settings.Duration);

    public TimeSpan Elapsed => _clock.Elapsed;

    public bool Measuring => _clock.Elapsed >= settings.Warmup;

    public async Task<BenchReport> RunAsync(CancellationToken cancellationToken)
    {
        var startedAt = DateTimeOffset.UtcNow;
        _clock.Start();
        var end = settings.Warmup + settings.Duration;
        if (settings.Mode == BenchMode.Closed)
        {
            await Task.WhenAll(Enumerable.Range(0, settings.Clients).Select(c => Task.Run(() => ClosedLoopAsync(c, end, cancellationToken), cancellationToken)));
        }
        else
        {
            await OpenLoopAsync(end, cancellationToken);
        }
        return Recorder.Report(settings, startedAt, inputs.Count);
    }

    private async Task ClosedLoopAsync(int client, TimeSpan end, CancellationToken cancellationToken)
    {
        // Clients start on different inputs so a set of files is spread evenly.
        for (var i = client; _clock.Elapsed < end && !cancellationToken.IsCancellationRequested; i++)
        {
            await OneAsync(client, inputs[i % inputs.Count], _clock.Elapsed, onSchedule: false, cancellationToken);
        }
    }

    private async Task OpenLoopAsync(TimeSpan end, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1 / settings.Rate);
        var inFlight = new List<Task>();
        for (long i = 0; ; i++)
        {
            var scheduled = interval * i;
            if (scheduled >= end || cancellationToken.IsCancellationRequested)
            {
                break;
            }
            var wait = scheduled - _clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
            // Late sends keep their scheduled time: the delay is part of what the user would wait.
            inFlight.Add(OneAsync((int)(i % settings.Clients), inputs[(int)(i % inputs.Count)], scheduled, onSchedule: true, cancellationToken));
            if (inFlight.Count > 4096)
            {
                inFlight.RemoveAll(t => t.IsCompleted);
            }
        }
        await Task.WhenAll(inFlight);
    }

    private async Task OneAsync(int client, byte[] input, TimeSpan scheduledAt, bool onSchedule, CancellationToken cancellationToken)
    {
        Recorder.Started(scheduledAt);
        JobOutcome outcome;
        var sentAt = _clock.Elapsed;
        var sent = DateTimeOffset.UtcNow;
        try
        {
            outcome = await runJob(client, input, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            outcome = JobOutcome.Failed(ErrorCode(e));
        }
        var received = DateTimeOffset.UtcNow;
        Recorder.Finished(scheduledAt, _clock.Elapsed, outcome.Error,
            new JobTrace(sent, received, outcome.Record, onSchedule ? sentAt - scheduledAt : null));
    }

    public static string ErrorCode(Exception e) => e switch
    {
        InferenceApiException api => api.Code,
        TimeoutException => "timeout",
        HttpRequestException or System.Net.WebSockets.WebSocketException or InferenceConnectionException => "connection",
        _ => e.GetType().Name,
    };
}
