using Contracts;
using Microsoft.Extensions.Options;
using Npgsql;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Gateway.Usage;

/// <summary>
/// Copies usage events from the Redis stream <see cref="RedisKeys.UsageEvents"/> into PostgreSQL's <c>usage_ledger</c>, on
/// every gateway replica at once as one consumer group (<see cref="Group"/>): each event goes to one replica, which inserts
/// it (a job already recorded is skipped: the job id is the key), then acknowledges and deletes it. An event is deleted only
/// after its row is committed, so nothing is lost while PostgreSQL is down (events wait in Redis, and are written when it
/// returns) or when a gateway dies holding some (another claims them after <see cref="UsageOptions.ClaimAfter"/>); an event
/// written twice (a replica died between commit and acknowledge) is one row.
/// </summary>
public sealed partial class UsageWriter(
    IConnectionMultiplexer redis, UsageLedger ledger, ServiceIdentity identity, IOptions<UsageOptions> options, ILogger<UsageWriter> log)
    : BackgroundService
{
    public const string Group = "ledger";

    /// <summary>How often an idle writer looks for new events (StackExchange.Redis has no blocking stream read).</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Whether this replica may hold pending events of its own: at start (a restart keeps the consumer name) and after a failed pass.</summary>
    private bool ownPending = true;

    /// <summary>When (<see cref="Environment.TickCount64"/>) to look next for events a dead replica left pending.</summary>
    private long nextClaim;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backoff = TimeSpan.FromSeconds(1);
        var groupReady = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!groupReady)
                {
                    await EnsureGroupAsync();
                    groupReady = true;
                }
                var written = await WriteOnceAsync(stoppingToken);
                backoff = TimeSpan.FromSeconds(1);
                if (written == 0)
                {
                    await Task.Delay(IdlePoll, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or NpgsqlException)
            {
                // Redis or PostgreSQL unreachable: the events stay in the stream (pending with this replica) until they return.
                if (e is RedisServerException { Message: var m } && m.StartsWith("NOGROUP", StringComparison.Ordinal))
                {
                    groupReady = false; // Redis lost its data (restarted without persistence): make the group again
                }
                ownPending = true; // what this pass read is pending with this replica until written
                LogWriteFailed(log, e.GetType().Name, e.Message, backoff.TotalSeconds);
                await Task.Delay(backoff, stoppingToken);
                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
            }
        }
    }

    private async Task EnsureGroupAsync()
    {
        try
        {
            await Db.StreamCreateConsumerGroupAsync(RedisKeys.UsageEvents, Group, StreamPosition.Beginning, createStream: true);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
        {
            // made by another replica, or by this one before a restart
        }
    }

    private IDatabase Db => redis.GetDatabase();

    /// <summary>
    /// One pass: this replica's own pending events first (after a failed write), then, every half
    /// <see cref="UsageOptions.ClaimAfter"/>, those another replica left pending that long, then new ones. An idle writer
    /// makes one Redis call per <see cref="IdlePoll"/>. Returns how many were written.
    /// </summary>
    internal async Task<int> WriteOnceAsync(CancellationToken cancellationToken)
    {
        var batch = options.Value.BatchSize;
        var entries = Array.Empty<StreamEntry>();
        if (ownPending)
        {
            entries = await Db.StreamReadGroupAsync(RedisKeys.UsageEvents, Group, identity.InstanceId, StreamPosition.Beginning, batch);
            ownPending = entries.Length > 0;
        }
        if (entries.Length == 0 && Environment.TickCount64 >= nextClaim)
        {
            var claimed = await Db.StreamAutoClaimAsync(RedisKeys.UsageEvents, Group, identity.InstanceId,
                (long)options.Value.ClaimAfter.TotalMilliseconds, "0-0", batch);
            entries = claimed.ClaimedEntries;
            // A full batch may have more behind it: look again on the next pass.
            nextClaim = entries.Length == batch ? 0 : Environment.TickCount64 + (long)options.Value.ClaimAfter.TotalMilliseconds / 2;
        }
        if (entries.Length == 0)
        {
            entries = await Db.StreamReadGroupAsync(RedisKeys.UsageEvents, Group, identity.InstanceId, StreamPosition.NewMessages, batch);
        }
        if (entries.Length == 0)
        {
            return 0;
        }

        var events = new List<UsageEvent>(entries.Length);
        foreach (var entry in entries)
        {
            var json = entry[UsageEvent.Field];
            try
            {
                events.Add(UsageEvent.Deserialize(json!));
            }
            catch (System.Text.Json.JsonException e)
            {
                // Not ours to bill, and kept it would block the stream: dropped, and said so.
                LogMalformed(log, entry.Id!, e.Message);
            }
        }
        if (events.Count > 0)
        {
            await ledger.InsertAsync(events, cancellationToken);
        }
        var ids = Array.ConvertAll(entries, e => e.Id);
        var done = Db.CreateBatch();
        var acked = done.StreamAcknowledgeAsync(RedisKeys.UsageEvents, Group, ids);
        var deleted = done.StreamDeleteAsync(RedisKeys.UsageEvents, ids);
        done.Execute();
        await Task.WhenAll(acked, deleted);
        return entries.Length;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage ledger: could not write ({Kind}: {Reason}); the events wait in Redis, retrying in {Seconds} s")]
    private static partial void LogWriteFailed(ILogger log, string kind, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Usage ledger: dropped stream entry {Id}, not a usage event ({Reason})")]
    private static partial void LogMalformed(ILogger log, string id, string reason);
}
