// Polls the bucket, validates each newly published version once (versions are immutable), and keeps each model's
// desired version: the pinned one when set and valid, else the latest valid one.
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
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval, time);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
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
        var models = await bucket.ListModelsAsync(cancellationToken);
        var fresh = new List<PublishedVersion>();
        foreach (var model in models)
        {
            var known = await store.GetVersionsAsync(model);
            var withManifest = await store.GetManifestVersionsAsync(model);
            foreach (var version in await bucket.ListVersionsAsync(model, cancellationToken))
            {
                if (known.TryGetValue(version, out var state))
                {
                    // Judged before gateways learned models from Redis: give them the manifest once.
                    if (state.IsValid && !withManifest.Contains(version) && await bucket.GetPublishedAsync(model, version, cancellationToken) is { } old)
                    {
                        await store.SetManifestAsync(model, version, old.ManifestJson);
                    }
                }
                else if (await bucket.GetPublishedAsync(model, version, cancellationToken) is { } published)
                {
                    fresh.Add(published);
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

            await store.SetVersionAsync(published.Model, published.Version, new ModelVersionState(
                outcome.IsValid ? ModelVersionStates.Valid : ModelVersionStates.Invalid, outcome.Reason, time.GetUtcNow()));
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

        foreach (var model in models)
        {
            if (fresh.Any(v => v.Model == model) || await store.GetDesiredAsync(model) is null)
            {
                await UpdateDesiredAsync(model);
            }
        }

        await store.SetSyncedAsync(time.GetUtcNow());
    }

    /// <summary>Sets desired to the pinned version when it is valid, else to the latest valid version.</summary>
    public async Task<int?> UpdateDesiredAsync(string model)
    {
        var versions = await store.GetVersionsAsync(model);
        var pinned = await store.GetPinnedAsync(model);
        int? desired = pinned is { } p && versions.TryGetValue(p, out var state) && state.IsValid
            ? p
            : versions.Where(v => v.Value.IsValid).Select(v => (int?)v.Key).Max();
        if (desired is { } d && d != await store.GetDesiredAsync(model))
        {
            await store.SetDesiredAsync(model, d);
            LogDesired(model, d);
        }

        return desired;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model} version {Version} is valid")]
    private partial void LogValid(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model} version {Version} is invalid: {Reason}")]
    private partial void LogInvalid(string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: desired version is now {Version}")]
    private partial void LogDesired(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bucket poll failed: {Reason}")]
    private partial void LogPollFailed(string reason);
}
