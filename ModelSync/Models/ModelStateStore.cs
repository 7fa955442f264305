// ModelSync's state in Redis: per-version verdicts, desired and pinned versions, rollouts, and the live workers.
using System.Globalization;
using System.Text.Json;
using Contracts;
using Contracts.Models;
using ServiceDefaults.Caching;
using StackExchange.Redis;

namespace ModelSync.Models;

/// <summary>A live worker replica as its heartbeat describes it.</summary>
/// <param name="Serves">Models the worker is configured for; empty means every model in the bucket.</param>
/// <param name="Fallbacks">Per model, why the worker serves another version than it was told to (that one could not be fetched).</param>
public sealed record WorkerView(
    string Instance, long Pid, bool Ready, IReadOnlyDictionary<string, int> Models, IReadOnlyList<string> Serves,
    IReadOnlyDictionary<string, string>? Fallbacks = null, IReadOnlyDictionary<string, long>? Held = null)
{
    /// <summary>Whether this worker is expected to run <paramref name="model"/>.</summary>
    public bool Hosts(string model) => Serves.Count == 0 ? true : Serves.Contains(model, StringComparer.Ordinal);
}

public sealed class ModelStateStore(IConnectionMultiplexer redis)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private IDatabase Db => redis.GetDatabase();

    public async Task<IReadOnlyList<string>> ListModelsAsync() =>
        [.. (await Db.SetMembersAsync(RedisKeys.Models)).Select(v => (string)v!).Order(StringComparer.Ordinal)];

    public async Task<IReadOnlyDictionary<int, ModelVersionState>> GetVersionsAsync(string model)
    {
        var entries = await Db.HashGetAllAsync(RedisKeys.ModelVersions(model));
        return entries.ToDictionary(
            e => int.Parse((string)e.Name!, CultureInfo.InvariantCulture),
            e => JsonSerializer.Deserialize<ModelVersionState>((string)e.Value!, Json)!);
    }

    public async Task SetVersionAsync(string model, int version, ModelVersionState state)
    {
        await Db.SetAddAsync(RedisKeys.Models, model);
        await Db.HashSetAsync(RedisKeys.ModelVersions(model), version.ToString(CultureInfo.InvariantCulture), JsonSerializer.Serialize(state, Json));
    }

    /// <summary>Stores the manifest of a valid version, for the gateways.</summary>
    public Task SetManifestAsync(string model, int version, string json) =>
        Db.HashSetAsync(RedisKeys.ModelManifests(model), version.ToString(CultureInfo.InvariantCulture), json);

    public Task DeleteManifestAsync(string model, int version) =>
        Db.HashDeleteAsync(RedisKeys.ModelManifests(model), version.ToString(CultureInfo.InvariantCulture));

    public async Task<IReadOnlySet<int>> GetManifestVersionsAsync(string model) =>
        (await Db.HashKeysAsync(RedisKeys.ModelManifests(model)))
            .Select(v => int.Parse((string)v!, CultureInfo.InvariantCulture)).ToHashSet();

    /// <summary>Marks a completed pass over the bucket.</summary>
    public Task SetSyncedAsync(DateTimeOffset at) =>
        Db.StringSetAsync(RedisKeys.ModelsSynced, at.ToUnixTimeMilliseconds());

    public async Task<int?> GetDesiredAsync(string model) => ParseVersion(await Db.StringGetAsync(RedisKeys.ModelDesired(model)));

    public Task SetDesiredAsync(string model, int version) =>
        Db.StringSetAsync(RedisKeys.ModelDesired(model), version.ToString(CultureInfo.InvariantCulture));

    /// <summary>No valid version left: workers serve the model no more, gateways stop listing it.</summary>
    public Task DeleteDesiredAsync(string model) => Db.KeyDeleteAsync(RedisKeys.ModelDesired(model));

    public async Task<int?> GetPinnedAsync(string model) => ParseVersion(await Db.StringGetAsync(RedisKeys.ModelPinned(model)));

    public Task SetPinnedAsync(string model, int version) =>
        Db.StringSetAsync(RedisKeys.ModelPinned(model), version.ToString(CultureInfo.InvariantCulture));

    public Task DeletePinnedAsync(string model) => Db.KeyDeleteAsync(RedisKeys.ModelPinned(model));

    public async Task<ModelRolloutState?> GetRolloutAsync(string model) =>
        await Db.StringGetAsync(RedisKeys.ModelRollout(model)) is { HasValue: true } value
            ? JsonSerializer.Deserialize<ModelRolloutState>((string)value!, Json)
            : null;

    /// <summary>Stores the current rollout; a finished one is also added to the model's history.</summary>
    public async Task SetRolloutAsync(string model, ModelRolloutState rollout)
    {
        var json = JsonSerializer.Serialize(rollout, Json);
        await Db.StringSetAsync(RedisKeys.ModelRollout(model), json);
        if (rollout.State != ModelRolloutStates.Running)
        {
            await Db.ListLeftPushAsync(RedisKeys.ModelRolloutHistory(model), json);
            await Db.ListTrimAsync(RedisKeys.ModelRolloutHistory(model), 0, HistoryLength - 1);
        }
    }

    /// <summary>Adds an event that is not a rollout (a pin lifted) to the model's history, leaving the current rollout alone.</summary>
    public async Task AddRolloutEventAsync(string model, ModelRolloutState rollout)
    {
        await Db.ListLeftPushAsync(RedisKeys.ModelRolloutHistory(model), JsonSerializer.Serialize(rollout, Json));
        await Db.ListTrimAsync(RedisKeys.ModelRolloutHistory(model), 0, HistoryLength - 1);
    }

    public const int HistoryLength = 20;

    public async Task<IReadOnlyList<ModelRolloutState>> GetRolloutHistoryAsync(string model) =>
        [.. (await Db.ListRangeAsync(RedisKeys.ModelRolloutHistory(model))).Select(v => JsonSerializer.Deserialize<ModelRolloutState>((string)v!, Json)!)];

    public Task SendCommandAsync(string instance, string command) =>
        redis.GetSubscriber().PublishAsync(RedisChannel.Literal(RedisKeys.WorkerCommand(instance)), command);

    /// <summary>Every worker whose heartbeat has not expired.</summary>
    public async Task<IReadOnlyList<WorkerView>> ListWorkersAsync()
    {
        var workers = new List<WorkerView>();
        foreach (var fields in await WorkerHeartbeats.ReadLiveAsync(Db))
        {
            var instance = fields["instance"]!;
            var models = ParseCounts(fields.GetValueOrDefault("models"))
                .Where(m => m.Value <= int.MaxValue).ToDictionary(m => m.Key, m => (int)m.Value, StringComparer.Ordinal);

            workers.Add(new WorkerView(
                instance,
                long.TryParse(fields.GetValueOrDefault("pid"), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0,
                fields.GetValueOrDefault("ready") == "1",
                models,
                (fields.GetValueOrDefault("serves") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries),
                ParseFallbacks(fields.GetValueOrDefault("fallbacks")),
                ParseCounts(fields.GetValueOrDefault("held"))));
        }

        return workers;
    }

    /// <summary>"model:number,…" as a worker's heartbeat writes its models' versions and its held jobs.</summary>
    private static Dictionary<string, long> ParseCounts(string? field)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in (field ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.LastIndexOf(':');
            if (colon > 0 && long.TryParse(entry[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
            {
                counts[entry[..colon]] = count;
            }
        }
        return counts;
    }

    private static IReadOnlyDictionary<string, string>? ParseFallbacks(string? json)
    {
        try
        {
            return string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<Dictionary<string, string>>(json, Json);
        }
        catch (JsonException)
        {
            return null; // a worker of another build: its versions still show in "models"
        }
    }

    private static int? ParseVersion(RedisValue value) =>
        value.HasValue && int.TryParse((string)value!, NumberStyles.None, CultureInfo.InvariantCulture, out var version) ? version : null;
}
