using StackExchange.Redis;

namespace Gateway.Jobs;

/// <summary>
/// The loop of the gateway's sweepers (deadlines, owed pushes): every <see cref="Interval"/> one pass, and at once another
/// while a pass comes back with a full batch. Redis being away skips the tick; what was due stays in Redis for the next.
/// </summary>
public abstract partial class PeriodicSweep(TimeProvider time, ILogger log) : BackgroundService
{
    protected TimeProvider Time => time;

    protected ILogger Log => log;

    /// <summary>What the log calls this sweep.</summary>
    protected abstract string Name { get; }

    protected abstract TimeSpan Interval { get; }

    /// <summary>The most entries one pass takes: a pass that took this many may have left more.</summary>
    protected abstract int BatchSize { get; }

    /// <summary>One pass; returns how many entries it took.</summary>
    protected abstract Task<int> PassAsync();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    while (await PassAsync() == BatchSize && !stoppingToken.IsCancellationRequested)
                    {
                    }
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    LogStoreUnavailable(Name, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Sweep} skipped, job store unavailable: {Reason}")]
    private partial void LogStoreUnavailable(string sweep, string reason);
}
