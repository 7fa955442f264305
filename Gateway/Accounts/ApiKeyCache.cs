using System.Collections.Concurrent;
using Contracts;
using Microsoft.Extensions.Options;
using Npgsql;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Gateway.Accounts;

/// <summary>
/// Which account each API key opens, kept in this gateway's memory so verifying a request's key is a hash and a dictionary
/// read: PostgreSQL is asked once per key per <see cref="AccountsOptions.KeyCacheTtl"/>, never on every request. A revoked
/// key is dropped from every gateway's cache at once through a Redis channel (<see cref="RedisKeys.RevokedApiKeys"/>); while
/// this gateway's subscription is down it may miss one, so the whole cache is dropped when the subscription comes back, and
/// no entry outlives its TTL anyway — except while PostgreSQL is unreachable, when a key that worked keeps working. Each account's limits are kept the same way, dropped everywhere when an operator
/// changes them (<see cref="RedisKeys.ChangedAccounts"/>).
/// </summary>
public sealed partial class ApiKeyCache(
    AccountStore store, IConnectionMultiplexer redis, TimeProvider time, IOptions<AccountsOptions> options, ILogger<ApiKeyCache> log) : IHostedService
{
    /// <summary>More distinct keys than this (a flood of made-up ones) and the cache starts over.</summary>
    private const int MaxEntries = 100_000;

    /// <summary>A key PostgreSQL does not know is remembered this long, so a flood of one bad key costs one query a second.</summary>
    private static readonly TimeSpan UnknownKeyTtl = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private readonly record struct Entry(ApiKeyOwner? Owner, long ExpiresAt);

    private readonly ConcurrentDictionary<Guid, LimitsEntry> _limits = new();

    private readonly record struct LimitsEntry(JobLimits Limits, long ExpiresAt);

    /// <summary>The owner of <paramref name="key"/>, or null when no live key matches.</summary>
    public async ValueTask<ApiKeyOwner?> FindAsync(string key, CancellationToken cancellationToken)
    {
        var hash = ApiKeys.Hash(key);
        var id = Convert.ToHexStringLower(hash);
        var now = time.GetTimestamp();
        if (_entries.TryGetValue(id, out var entry) && entry.ExpiresAt > now)
        {
            return entry.Owner;
        }
        ApiKeyOwner? owner;
        try
        {
            owner = await store.FindKeyAsync(hash, cancellationToken);
        }
        catch (Exception e) when ((e is NpgsqlException or TimeoutException) && entry.Owner is not null)
        {
            // PostgreSQL is unreachable: a key that worked before keeps working (its revocation still arrives through Redis).
            return entry.Owner;
        }
        if (_entries.Count >= MaxEntries)
        {
            _entries.Clear();
        }
        var ttl = owner is null ? UnknownKeyTtl : options.Value.KeyCacheTtl;
        _entries[id] = new Entry(owner, now + (long)(ttl.TotalSeconds * time.TimestampFrequency));
        return owner;
    }

    /// <summary>
    /// The limits that hold for <paramref name="accountId"/>'s jobs: each it does not set itself is the service's default
    /// (<see cref="AccountsOptions.DefaultLimits"/>). A dictionary read but once per account per TTL; while PostgreSQL is
    /// unreachable the last known limits (or the default) hold, so submitting does not depend on it.
    /// </summary>
    public async ValueTask<JobLimits> LimitsAsync(Guid accountId, CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_limits.TryGetValue(accountId, out var entry) && entry.ExpiresAt > now)
        {
            return entry.Limits;
        }
        AccountLimits? own;
        try
        {
            own = await store.GetLimitsAsync(accountId, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return entry.ExpiresAt > 0 ? entry.Limits : Effective(null);
        }
        var limits = Effective(own);
        if (_limits.Count >= MaxEntries)
        {
            _limits.Clear();
        }
        _limits[accountId] = new LimitsEntry(limits, now + (long)(options.Value.KeyCacheTtl.TotalSeconds * time.TimestampFrequency));
        return limits;
    }

    private JobLimits Effective(AccountLimits? own)
    {
        var defaults = options.Value.DefaultLimits;
        var rate = own?.JobsPerSecond is not null ? own : defaults; // a rate and its burst go together
        return new JobLimits(rate.JobsPerSecond, rate.Burst, own?.MaxUnfinishedJobs ?? defaults.MaxUnfinishedJobs);
    }

    /// <summary>Drops an account's limits here and tells every other gateway to read them again.</summary>
    public async Task LimitsChangedAsync(Guid accountId)
    {
        _limits.TryRemove(accountId, out _);
        try
        {
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.ChangedAccounts), accountId.ToString());
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogLimitsChangeNotSent(log, e.Message, options.Value.KeyCacheTtl.TotalSeconds);
        }
    }

    /// <summary>Drops a revoked key here and tells every other gateway to drop it.</summary>
    public async Task RevokedAsync(byte[] hash)
    {
        var id = Convert.ToHexStringLower(hash);
        _entries.TryRemove(id, out _);
        try
        {
            await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.RevokedApiKeys), id);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The key is revoked in PostgreSQL; other gateways stop accepting it when their cache entry expires.
            LogRevocationNotSent(log, e.Message, options.Value.KeyCacheTtl.TotalSeconds);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored += OnRestored;
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.RevokedApiKeys),
            (_, revoked) => _entries.TryRemove(revoked.ToString(), out var _));
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisKeys.ChangedAccounts),
            (_, changed) => _limits.TryRemove(Guid.TryParse(changed.ToString(), out var id) ? id : Guid.Empty, out var _));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored -= OnRestored;
        await redis.GetSubscriber().UnsubscribeAsync(RedisChannel.Literal(RedisKeys.RevokedApiKeys));
        await redis.GetSubscriber().UnsubscribeAsync(RedisChannel.Literal(RedisKeys.ChangedAccounts));
    }

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            _entries.Clear();
            _limits.Clear();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the other gateways that an account's limits changed ({Reason}); they apply them within {Seconds} s")]
    private static partial void LogLimitsChangeNotSent(ILogger log, string reason, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell the other gateways that a key was revoked ({Reason}); they refuse it within {Seconds} s")]
    private static partial void LogRevocationNotSent(ILogger log, string reason, double seconds);
}
