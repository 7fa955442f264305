using Gateway.Jobs;
using Microsoft.Extensions.Options;
using ServiceDefaults.Jobs;

namespace Gateway.Hubs;

/// <summary>Settings of push recovery, bound from "Gateway:PushRecovery".</summary>
public sealed class PushRecoveryOptions
{
    public const string Section = "Gateway:PushRecovery";

    /// <summary>How often owed final states are looked for.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a final state may stay owed before it is pushed from here. A live pusher pays within milliseconds of
    /// storing it (its push is bounded by the Redis client's timeout, 5 s); an entry older than this was left by a process
    /// that died in between. Shorter would push twice what a slow pusher is still sending.
    /// </summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Entries taken per Redis round trip.</summary>
    public int BatchSize { get; set; } = 200;
}

/// <summary>
/// Pushes the final states that were stored but never pushed to the hub connections following them: a worker killed
/// (<c>kill -9</c>, OOM, a node lost) after its batch's script stored the results and before its backplane publish went out
/// would otherwise leave those clients waiting for ever, as the redelivered jobs are already finished and nothing runs
/// them again. Every gateway replica sweeps; an owed entry is taken by one of them, in the script that reads it.
/// </summary>
public sealed partial class PushRecovery(JobStore store, IOptions<PushRecoveryOptions> options, TimeProvider time, ILogger<PushRecovery> log)
    : PeriodicSweep(time, log)
{
    protected override string Name => "Push recovery";

    protected override TimeSpan Interval => options.Value.Interval;

    protected override int BatchSize => options.Value.BatchSize;

    protected override async Task<int> PassAsync()
    {
        var taken = await store.PushOwedAsync(options.Value.Grace, options.Value.BatchSize);
        if (taken > 0)
        {
            LogRecovered(Log, taken, options.Value.Grace.TotalSeconds);
        }
        return taken;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushed {Count} final job states owed for over {Grace} s (the process that stored them died before pushing them)")]
    private static partial void LogRecovered(ILogger logger, int count, double grace);
}
