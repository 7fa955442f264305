// Polls the bucket and reconciles ModelSync's Redis state with it on every pass: validates each newly published version
// once (versions are immutable), marks versions no longer published "removed", and keeps each model's desired version:
// the pinned one when set and valid, else the latest valid one, none (withdrawn) when no valid version is published.
using Contracts.Models;
using Engine.Bucket;
using Microsoft.Extensions.Options;
using ModelSync.Bucket;
using StackExchange.Redis;

namespace ModelSync.Models;

public sealed partial class BucketWatcher(
    IModelBucket bucket,
    ModelVersionValidator validator,
    ModelStateStore store,
    IOptions<ModelSyncOptions> options,
    TimeProvider time,
    ILogger<BucketWatcher> log) : BackgroundService
{
    private readonly TaskCompletionSource _firstPass = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Completes once this process has reconciled Redis with the bucket: until then the state in Redis may be another
    /// run's (another bucket's), and nothing may act on it.
    /// </summary>
    public Task FirstPass => _firstPass.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval, time);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
                _firstPass.TrySetResult();
            }
            catch (Exception e) when (e is RedisException or TimeoutException or IOException or UnauthorizedAccessException)
            {
                LogPollFailed(e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One pass over the bucket; public so a test or the admin API can force it.</summary>
    public async Task PollAsync(CancellationToken cancellationToken)
    {
        if (bucket is LocalModelBucket local && !Directory.Exists(local.Root))
        {
            // A missing directory is an unmounted volume, not an empty bucket: nothing is marked removed over it.
            throw new DirectoryNotFoundException($"the model bucket directory {local.Root} does not exist");
        }

        var inBucket = await bucket.ListModelsAsync(cancellationToken);
        // Models known from earlier passes too: one gone from the bucket (or never in this one) has its versions marked removed.
        var models = inBucket.Union(await store.ListModelsAsync(), StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var fresh = new List<PublishedVersion>();
        foreach (var model in models)
        {
            var published = new Dictionary<int, PublishedVersion>();
            if (inBucket.Contains(model, StringComparer.Ordinal))
            {
                foreach (var version in await bucket.ListVersionsAsync(model, cancellationToken))
                {
                    if (await bucket.GetPublishedAsync(model, version, cancellationToken) is { } p)
                    {
                        published[version] = p;
                    }
                }
            }

            var known = await store.GetVersionsAsync(model);
            var plan = BucketReconciliation.Plan(
                known, published.ToDictionary(p => p.Key, p => BucketReconciliation.ManifestHash(p.Value.ManifestJson)), bucket.Location, time.GetUtcNow());
            foreach (var (version, removed) in plan.Removed)
            {
                await store.SetVersionAsync(model, version, removed);
                await store.DeleteManifestAsync(model, version);
                LogRemoved(model, version, known[version].State);
            }
            if (plan.Removed.Count > 0)
            {
                // At once, not after validating what is new: until then workers would be told a version they cannot fetch.
                await UpdateDesiredAsync(model);
            }

            fresh.AddRange(plan.ToJudge.Select(v => published[v]));
            var withManifest = await store.GetManifestVersionsAsync(model);
            foreach (var (version, state) in known)
            {
                // Judged before gateways learned models from Redis: give them the manifest once.
                if (state.IsValid && !withManifest.Contains(version) && !plan.ToJudge.Contains(version) && published.TryGetValue(version, out var old))
                {
                    await store.SetManifestAsync(model, version, old.ManifestJson);
                }
            }
        }

        // Pipelines last: validating one loads its stages from the cache, so they must be fetched first.
        foreach (var published in fresh.OrderBy(v => v.Manifest?.Task == ModelTask.Ocr))
        {
            var outcome = await validator.ValidateAsync(published, cancellationToken);
            if (outcome.IsValid)
            {
                // Before the verdict: whoever sees a valid version finds its manifest.
                await store.SetManifestAsync(published.Model, published.Version, published.ManifestJson);
            }
            else
            {
                await store.DeleteManifestAsync(published.Model, published.Version);
            }

            await store.SetVersionAsync(published.Model, published.Version, new ModelVersionState(
                outcome.IsValid ? ModelVersionStates.Valid : ModelVersionStates.Invalid, outcome.Reason, time.GetUtcNow(),
                BucketReconciliation.ManifestHash(published.ManifestJson)));
            if (outcome.IsValid)
            {
                LogValid(published.Model, published.Version);
                await UpdateDesiredAsync(published.Model);
            }
            else
            {
                LogInvalid(published.Model, published.Version, outcome.Reason ?? "");
            }
        }

        // Every model, every pass: the desired version follows the bucket whatever changed it (a removal, a pin, a restart).
        foreach (var model in models)
        {
            await UpdateDesiredAsync(model);
        }

        await store.SetSyncedAsync(time.GetUtcNow());
    }

    /// <summary>
    /// Sets desired to the pinned version when it is valid, else to the latest valid version; a pin on a version that is not
    /// valid (removed from the bucket) is lifted and recorded in the rollout history. No valid version left: desired is cleared.
    /// </summary>
    public async Task<int?> UpdateDesiredAsync(string model)
    {
        var versions = await store.GetVersionsAsync(model);
        var pinned = await store.GetPinnedAsync(model);
        var choice = BucketReconciliation.ChooseDesired(versions, pinned);
        if (choice.LiftPin is { } reason && pinned is { } pin)
        {
            await store.DeletePinnedAsync(model);
            var now = time.GetUtcNow();
            await store.AddRolloutEventAsync(model, new ModelRolloutState(pin, choice.Desired ?? pin, ModelRolloutStates.Unpinned, now, now, [], reason));
            LogUnpinned(model, reason);
        }

        var current = await store.GetDesiredAsync(model);
        if (choice.Desired is { } d && d != current)
        {
            await store.SetDesiredAsync(model, d);
            LogDesired(model, d);
        }
        else if (choice.Desired is null && current is not null)
        {
            await store.DeleteDesiredAsync(model);
            LogWithdrawn(model);
        }

        return choice.Desired;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model} version {Version} is valid")]
    private partial void LogValid(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model} version {Version} is invalid: {Reason}")]
    private partial void LogInvalid(string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: desired version is now {Version}")]
    private partial void LogDesired(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model} version {Version} is no longer published in the bucket (it was {State}): marked removed")]
    private partial void LogRemoved(string model, int version, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: {Reason}")]
    private partial void LogUnpinned(string model, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: no valid version is published; withdrawn")]
    private partial void LogWithdrawn(string model);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bucket poll failed: {Reason}")]
    private partial void LogPollFailed(string reason);
}
