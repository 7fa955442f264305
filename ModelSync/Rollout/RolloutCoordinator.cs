// Rolls workers over to each model's desired version, ModelSync:MaxUnavailable workers at a time (default 1): tell them to
// drain and exit, wait for their replacements (same instance with a new pid, or a new instance) to report ready with the
// desired version, then the next. A replacement that is not ready in time, or comes back saying it cannot serve the desired
// version, rolls the model back to the version it was rolling from, pinned.
using Contracts.Models;
using Microsoft.Extensions.Options;
using ModelSync.Bucket;
using ModelSync.Models;
using StackExchange.Redis;

namespace ModelSync.Rollout;

public static class RolloutExtensions
{
    public static IHostApplicationBuilder AddRollouts(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RolloutCoordinator>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RolloutCoordinator>());
        return builder;
    }
}

public sealed partial class RolloutCoordinator(
    ModelStateStore store, BucketWatcher watcher, IOptions<ModelSyncOptions> options, TimeProvider time, ILogger<RolloutCoordinator> log)
    : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The desired versions in Redis may be a previous run's, against another bucket: roll nothing out before they are reconciled.
        await watcher.FirstPass.WaitAsync(stoppingToken);
        using var timer = new PeriodicTimer(Tick, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                foreach (var model in await store.ListModelsAsync())
                {
                    await ReconcileAsync(model, stoppingToken);
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                LogReconcileFailed(e.Message);
            }
        }
    }

    /// <summary>Moves at most one worker of <paramref name="model"/> to the desired version.</summary>
    private async Task ReconcileAsync(string model, CancellationToken cancellationToken)
    {
        var rollout = await store.GetRolloutAsync(model);
        if (await store.GetDesiredAsync(model) is not { } desired)
        {
            if (rollout is { State: ModelRolloutStates.Running })
            {
                // Withdrawn meanwhile (no valid version is published any more): there is nothing left to roll towards.
                await store.SetRolloutAsync(model, rollout with
                {
                    State = ModelRolloutStates.Superseded,
                    Finished = time.GetUtcNow(),
                    Message = $"no valid version of {model} is published any more",
                });
                LogWithdrawn(model, rollout.To);
            }
            return;
        }

        var workers = await store.ListWorkersAsync();
        // A worker not ready yet is still loading (its heartbeat lists no models): it is judged once ready.
        var stale = workers.Where(w => w.Ready && w.Hosts(model) && (!w.Models.TryGetValue(model, out var v) || v != desired)).ToList();
        if (stale.Count == 0)
        {
            // Running, or failed on a timeout whose workers came back with the version after all: every worker serves it.
            if ((rollout is { State: ModelRolloutStates.Running } || (rollout is not null && RolloutStepView.CameBackLate(model, rollout, workers)))
                && rollout.To == desired)
            {
                await store.SetRolloutAsync(model, rollout with
                {
                    State = ModelRolloutStates.Succeeded,
                    Finished = time.GetUtcNow(),
                    Message = rollout.State == ModelRolloutStates.Failed ? CarriedOn(rollout) : rollout.Message,
                });
                LogRolledOut(model, desired);
            }
            else if (rollout is { State: ModelRolloutStates.Running })
            {
                // Every worker already serves the desired version, which changed while that rollout ran (v1 judged, a
                // rollout to it started, then v2 judged): it will never finish, and must not read as running forever.
                await store.SetRolloutAsync(model, rollout with
                {
                    State = ModelRolloutStates.Superseded,
                    Finished = time.GetUtcNow(),
                    Message = $"every worker serves version {desired}, now desired",
                });
                LogSuperseded(model, rollout.To, desired);
            }
            return;
        }

        // A rollout that already failed towards this version is not retried until the desired version changes again —
        // unless its last step only timed out and its workers came back serving the version after all (seen: a 48 s restart
        // under load against a 25 s timeout, the version rolled away from removed, so nothing to roll back to).
        if (rollout is { State: ModelRolloutStates.Failed } && rollout.To == desired)
        {
            if (!RolloutStepView.CameBackLate(model, rollout, workers))
            {
                return;
            }
            rollout = rollout with
            {
                State = ModelRolloutStates.Running,
                Finished = null,
                Message = CarriedOn(rollout),
                Done = [.. rollout.Done, .. rollout.Steps![^1].Where(i => !rollout.Done.Contains(i))],
            };
            await store.SetRolloutAsync(model, rollout);
            LogRolloutResumed(model, desired, stale.Count);
        }

        if (await store.GetDesiredAsync(model) != desired)
        {
            return; // changed while this pass looked (a version removed from the bucket): no worker is drained for the old one
        }

        if (rollout is not { State: ModelRolloutStates.Running } || rollout.To != desired)
        {
            var from = workers.SelectMany(w => w.Models.Where(m => m.Key == model && m.Value != desired).Select(m => (int?)m.Value))
                .GroupBy(v => v).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
            // A rollout away from a version the bucket no longer publishes says so.
            var reason = from is { } f && (await store.GetVersionsAsync(model)).TryGetValue(f, out var fromState) && fromState.IsRemoved
                ? $"version {f} was removed from the bucket"
                : null;
            rollout = new ModelRolloutState(from, desired, ModelRolloutStates.Running, time.GetUtcNow(), null, [], reason);
            await store.SetRolloutAsync(model, rollout);
            LogRolloutStarted(model, from, desired, stale.Count);
        }

        // Up to MaxUnavailable workers go at once; the next step waits until each has come back with the desired version.
        var targets = stale.Take(Math.Max(1, options.Value.MaxUnavailable)).ToList();
        var before = workers.Select(w => (w.Instance, w.Pid)).ToHashSet();
        rollout = rollout with { Steps = [.. rollout.Steps ?? [], [.. targets.Select(t => t.Instance)]] };
        await store.SetRolloutAsync(model, rollout);
        foreach (var target in targets)
        {
            await store.SendCommandAsync(target.Instance, WorkerCommandNames.Drain);
            LogDraining(model, target.Instance, desired);
        }

        var deadline = time.GetUtcNow() + options.Value.RolloutTimeout;
        var instances = targets.Select(t => t.Instance).ToList();
        while (time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), time, cancellationToken);
            var step = RolloutStepView.Judge(model, desired, instances, before, await store.ListWorkersAsync());
            if (step.Refusal is { } refusal)
            {
                await RollBackAsync(model, rollout, refusal);
                return;
            }
            if (step.Done is { } replacements)
            {
                await store.SetRolloutAsync(model, rollout with { Done = [.. rollout.Done, .. replacements.Select(r => r.Instance)] });
                foreach (var replacement in replacements)
                {
                    LogWorkerDone(model, replacement.Instance, desired);
                }

                return;
            }

            if (await store.GetDesiredAsync(model) != desired)
            {
                // Pinned or rolled back meanwhile: the next pass rolls towards the new desired version.
                return;
            }
        }

        await RollBackAsync(model, rollout, $"worker {string.Join(", ", instances)} was not ready with version {desired} within {options.Value.RolloutTimeout.TotalSeconds:0} s");
    }

    private static string CarriedOn(ModelRolloutState failed) => $"carried on: a step timed out ({failed.Message}), then its workers came back serving version {failed.To}";

    /// <summary>Pins the version the rollout came from, so the next passes roll every worker back to it.</summary>
    private async Task RollBackAsync(string model, ModelRolloutState rollout, string reason)
    {
        // Only to a version still valid: one removed from the bucket meanwhile is no way back.
        if (rollout.From is { } previous && previous != rollout.To
            && (await store.GetVersionsAsync(model)).TryGetValue(previous, out var state) && state.IsValid)
        {
            await store.SetPinnedAsync(model, previous);
            await watcher.UpdateDesiredAsync(model);
            await store.SetRolloutAsync(model, rollout with { State = ModelRolloutStates.RolledBack, Finished = time.GetUtcNow(), Message = reason });
            LogRolledBack(model, rollout.To, previous, reason);
        }
        else
        {
            await store.SetRolloutAsync(model, rollout with { State = ModelRolloutStates.Failed, Finished = time.GetUtcNow(), Message = reason });
            LogRolloutFailed(model, rollout.To, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: rolling out version {To} (from {From}) to {Count} worker(s)")]
    private partial void LogRolloutStarted(string model, int? from, int to, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: rollout of version {Version} carried on: its timed-out step's workers serve it now; {Count} worker(s) to go")]
    private partial void LogRolloutResumed(string model, int version, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: draining worker {Instance} for version {Version}")]
    private partial void LogDraining(string model, string instance, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: worker {Instance} serves version {Version}")]
    private partial void LogWorkerDone(string model, string instance, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: every worker serves version {Version}")]
    private partial void LogRolledOut(string model, int version);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Model}: rollout of version {Version} superseded: every worker serves version {Desired}, now desired")]
    private partial void LogSuperseded(string model, int version, int desired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: rollout of version {Version} rolled back to {Previous}: {Reason}")]
    private partial void LogRolledBack(string model, int version, int previous, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: rollout of version {Version} failed, nothing to roll back to: {Reason}")]
    private partial void LogRolloutFailed(string model, int version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Model}: rollout of version {Version} superseded: no valid version is published any more")]
    private partial void LogWithdrawn(string model, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollout pass failed: {Reason}")]
    private partial void LogReconcileFailed(string reason);
}
