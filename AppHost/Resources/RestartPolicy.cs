// What a Kubernetes pod spec gives the services and Aspire's run mode does not: a replica whose process ends by itself
// (a crash, or a worker that exits after ModelSync drained it for a rollout) is started again, and one that stops answering its liveness path is restarted — both through Aspire's own resource
// commands, so the dashboard, the resource logs and the tests see what happened.
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AppHost.Resources;

/// <summary>Marks a resource whose replicas are restarted when they exit with a failure or fail their liveness path.</summary>
public sealed record RestartPolicyAnnotation(string? LivenessPath, int FailureThreshold) : IResourceAnnotation;

public static class RestartPolicyExtensions
{
    /// <summary>
    /// Start a replica again whenever its process ends by itself, whatever the exit code (Kubernetes' <c>restartPolicy: Always</c>);
    /// with <paramref name="livenessPath"/>, restart one whose GET of that path fails <paramref name="failureThreshold"/> times in
    /// a row (a <c>livenessProbe</c>). A replica stopped on purpose (the Stop command: it passes through Stopping) stays stopped.
    /// </summary>
    public static IResourceBuilder<T> WithRestartPolicy<T>(this IResourceBuilder<T> builder, string? livenessPath = null, int failureThreshold = 3)
        where T : IResource
    {
        builder.WithAnnotation(new RestartPolicyAnnotation(livenessPath, failureThreshold));
        if (builder.ApplicationBuilder.ExecutionContext.IsRunMode
            && !builder.ApplicationBuilder.Services.Any(s => s.ImplementationType == typeof(RestartPolicyService)))
        {
            builder.ApplicationBuilder.Services.AddHostedService<RestartPolicyService>();
        }
        return builder;
    }
}

internal sealed class RestartPolicyService(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    ResourceLoggerService resourceLogs,
    IHostApplicationLifetime lifetime,
    ILogger<RestartPolicyService> log) : BackgroundService
{
    /// <summary>A replica that ran this long before it failed starts again after the shortest delay (no crash loop).</summary>
    private static readonly TimeSpan StableRun = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(2);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    private readonly ConcurrentDictionary<string, Replica> _replicas = new(StringComparer.Ordinal);

    private sealed class Replica(string id, RestartPolicyAnnotation policy)
    {
        public string Id { get; } = id;
        public RestartPolicyAnnotation Policy { get; } = policy;
        public string? State;
        public int? Pid;
        public string? Url;
        public int Failures;
        public bool Answered;
        public bool Restarting;
        public int Restarts;
        public int CrashLoop;
        public DateTimeOffset RunningSince;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var probing = ProbeLoopAsync(stoppingToken);
        try
        {
            await foreach (var change in notifications.WatchAsync(stoppingToken))
            {
                if (!change.Resource.TryGetLastAnnotation<RestartPolicyAnnotation>(out var policy))
                {
                    continue;
                }
                var replica = _replicas.GetOrAdd(change.ResourceId, id => new Replica(id, policy));
                var snapshot = change.Snapshot;
                var state = snapshot.State?.Text;
                var previous = replica.State;
                var wasRunning = previous == KnownResourceStates.Running;
                replica.State = state;
                replica.Pid = snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value as int?;
                replica.Url = snapshot.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value?.Split(';')[0];
                if (state == KnownResourceStates.Running && !wasRunning)
                {
                    replica.Failures = 0;
                    replica.Answered = false;
                    replica.Restarting = false;
                    replica.RunningSince = DateTimeOffset.UtcNow;
                }
                // DCP could not (re)create the process — e.g. a Start that raced another command: try again, backing off.
                if (state == KnownResourceStates.FailedToStart && previous != KnownResourceStates.FailedToStart)
                {
                    _ = RestartAsync(replica, KnownResourceCommands.StartCommand, "failed to start", stoppingToken);
                }
                // Straight from Running to an end state: the process ended by itself. Aspire's Stop passes through Stopping.
                if (state is "Finished" or "Exited" && wasRunning)
                {
                    _ = RestartAsync(replica, KnownResourceCommands.StartCommand, $"exited with code {snapshot.ExitCode}", stoppingToken,
                        orderly: snapshot.ExitCode == 0);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await probing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// At shutdown the services stop first, each with Aspire's Stop command, while Redis and RabbitMQ still run: a worker
    /// finishes the batch in hand and hands the rest back to the broker, instead of losing its connections mid-way (DCP
    /// alone stops everything at once). Hosted services stop in reverse order, so this runs before Aspire's own shutdown.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        var running = _replicas.Values.Where(r => r.State == KnownResourceStates.Running).ToList();
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            await Task.WhenAll(running.Select(r => commands.ExecuteCommandAsync(r.Id, KnownResourceCommands.StopCommand, budget.Token)));
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
        {
            log.LogWarning("Stopping the services before the servers: {Reason}", e.Message);
        }
        await base.StopAsync(cancellationToken);
    }

    private async Task ProbeLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ProbeInterval);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await Task.WhenAll(_replicas.Values
                .Where(r => r.Policy.LivenessPath is not null && r.State == KnownResourceStates.Running && !r.Restarting && r.Url is not null)
                .Select(r => ProbeAsync(r, stoppingToken)));
        }
    }

    private async Task ProbeAsync(Replica replica, CancellationToken stoppingToken)
    {
        string? failure;
        try
        {
            using var response = await Http.GetAsync(new Uri(new Uri(replica.Url!), replica.Policy.LivenessPath), stoppingToken);
            failure = response.IsSuccessStatusCode ? null : $"{replica.Policy.LivenessPath} answered {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !stoppingToken.IsCancellationRequested))
        {
            failure = $"{replica.Policy.LivenessPath}: {e.Message}";
        }
        if (failure is null)
        {
            replica.Failures = 0;
            replica.Answered = true;
            return;
        }
        // Like a probe's initial delay: a replica still starting up is not judged until it has answered once.
        if (replica.Answered && ++replica.Failures >= replica.Policy.FailureThreshold)
        {
            KillHung(replica, $"liveness failed {replica.Failures} times in a row ({failure})");
        }
    }

    /// <summary>
    /// A hung replica is killed outright, process tree and all, as the kubelet does after a failed liveness probe: a graceful
    /// stop would wait on the very thing that hangs, and Aspire runs a project under <c>dotnet run</c>, so stopping only that
    /// host could leave the service itself running. The exit then restarts it like any other.
    /// </summary>
    private void KillHung(Replica replica, string reason)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested || replica.Restarting || replica.Pid is not { } pid)
        {
            return;
        }
        var message = $"{replica.Id} (pid {pid}) {reason}: killing it";
        log.LogWarning("{Message}", message);
        resourceLogs.GetLogger(replica.Id).LogWarning("{Message}", message);
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone: its exit restarts it.
        }
    }

    /// <param name="orderly">The process exited 0 (a worker drained for a rollout): started again at once, never backed off.</param>
    private async Task RestartAsync(Replica replica, string command, string reason, CancellationToken stoppingToken, bool orderly = false)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested || replica.Restarting)
        {
            return;
        }
        replica.Restarting = true;
        var restarts = Interlocked.Increment(ref replica.Restarts);
        // At once after an orderly exit or a replica's first failure in a while; then back off 1, 2, 4 … 30 s while it keeps
        // failing soon after it starts (Kubernetes' CrashLoopBackOff). (Until 2026-12-03 even a drained worker waited 1 s.)
        replica.CrashLoop = orderly || DateTimeOffset.UtcNow - replica.RunningSince > StableRun ? 0 : replica.CrashLoop + 1;
        var delay = replica.CrashLoop == 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, replica.CrashLoop - 1)));
        var message = $"{replica.Id} (pid {replica.Pid}) {reason}: restarting it (restart {restarts})";
        log.LogWarning("{Message}", message);
        resourceLogs.GetLogger(replica.Id).LogWarning("{Message}", message);
        try
        {
            await Task.Delay(delay, stoppingToken);
            // Someone else may have acted meanwhile (Start or Stop from the dashboard): a start only follows an end by itself.
            if (command == KnownResourceCommands.StartCommand && replica.State is not ("Finished" or "Exited" or "FailedToStart"))
            {
                replica.Restarting = false;
                return;
            }
            // A command can be refused while DCP is still settling the replica's end: try again, 1, 2, 4, 8 s apart.
            for (var attempt = 1; ; attempt++)
            {
                var result = await commands.ExecuteCommandAsync(replica.Id, command, stoppingToken);
                if (result.Success)
                {
                    return;
                }
                if (attempt == 5 || (command == KnownResourceCommands.StartCommand && replica.State is not ("Finished" or "Exited" or "FailedToStart")))
                {
                    replica.Restarting = false;
                    log.LogError("Could not restart {Replica}: {Message}", replica.Id, result.Message);
                    return;
                }
                log.LogWarning("Restarting {Replica} was refused ({Message}); trying again", replica.Id, result.Message);
                await Task.Delay(TimeSpan.FromSeconds(1 << (attempt - 1)), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
