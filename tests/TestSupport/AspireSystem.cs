// The whole Aspire.Inference graph started by Aspire.Hosting.Testing, with what the system tests need on top of it:
// each replica by index (its own port, pid, state history), Aspire's resource commands to stop, start and restart
// replicas, readiness of every replica, and the resources' console logs kept for the CI summary.
using System.Collections.Concurrent;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace TestSupport;

/// <summary>One replica (a DCP instance) of a resource at one moment.</summary>
/// <param name="Pid">The process Aspire started: for a project, the <c>dotnet run</c> host of the service.</param>
public sealed record ReplicaSnapshot(string Id, string Resource, string? State, string? Health, int? Pid, Uri? Endpoint, int? ExitCode, DateTimeOffset At)
{
    public bool IsRunning => State == KnownResourceStates.Running;

    /// <summary>
    /// The service's own process: Aspire runs a project as <c>dotnet run --no-build</c>, which starts the service as its
    /// child, so a crash of the service is a kill of this pid (killing the host alone would leave the service orphaned).
    /// </summary>
    public int? ServicePid => Pid is not { } pid ? null : ChildOf(pid) ?? pid;

    private static int? ChildOf(int pid)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out var child) && File.ReadAllText(Path.Combine(dir, "stat")) is var stat
                    && stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture))
                {
                    return child;
                }
            }
            catch (IOException)
            {
                // exited while we looked
            }
        }
        return null;
    }
}

public sealed class AspireSystem : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ReplicaSnapshot> _current = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> _logs = new(StringComparer.Ordinal);
    private readonly List<ReplicaSnapshot> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };
    private TaskCompletionSource _changed = NewSignal();
    private int _disposed;

    private AspireSystem(DistributedApplication app, string runDirectory)
    {
        App = app;
        RunDirectory = runDirectory;
    }

    public DistributedApplication App { get; }

    /// <summary>The AppHost's run folder (server data, model cache): private to this system, deleted on dispose.</summary>
    public string RunDirectory { get; }

    /// <summary>Every state change seen, in order.</summary>
    public IReadOnlyList<ReplicaSnapshot> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    /// <summary>How long <see cref="StartAsync"/> waits for the graph to start (a start on a loaded 2-core machine takes up to ~90 s).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(240);

    /// <summary>A fresh run folder under the repository's <c>.run/tests</c>.</summary>
    public static string NewRunDirectory(string prefix) =>
        Path.Combine(Projects.RepositoryInfo.Root, ".run", "tests", $"{prefix}-{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}"[..(prefix.Length + 16)]);

    /// <summary>
    /// Starts the AppHost's graph with <paramref name="args"/> (its command line: <c>--AppHost:Workers=2</c> …) in
    /// <paramref name="runDirectory"/>; <paramref name="configure"/> may change resources before the build. Returns once
    /// every resource is running and every project replica answers <c>/health</c>.
    /// </summary>
    public static async Task<AspireSystem> StartAsync(string runDirectory, IEnumerable<string> args,
        Action<IDistributedApplicationTestingBuilder>? configure, CancellationToken cancellationToken)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, $"--AppHost:RunDirectory={runDirectory}"], cancellationToken);
        configure?.Invoke(builder);
        var app = await builder.BuildAsync(cancellationToken);
        var system = new AspireSystem(app, runDirectory);
        system.Watch();
        try
        {
            // StartAsync returns only once every resource has started, and a resource waits (WaitFor) for the ones it needs;
            // a server that never comes up would hold it forever. Bounded, the failure names each resource's state.
            using var starting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            starting.CancelAfter(StartTimeout);
            try
            {
                await app.StartAsync(starting.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"the graph did not start in {StartTimeout.TotalSeconds:0} s (consoles in artifacts/logs); resources: {system.Describe()}");
            }
            foreach (var resource in system.ResourceNames())
            {
                await system.WaitForHealthyAsync(resource, TimeSpan.FromSeconds(180), cancellationToken);
            }
        }
        catch
        {
            // Why a resource never started or a replica never became healthy is in its console.
            system.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "failed-start-" + Path.GetFileName(runDirectory)));
            await system.DisposeAsync();
            throw;
        }
        return system;
    }

    /// <summary>The replicas of <paramref name="resource"/>, in a fixed order (by instance id), as last seen.</summary>
    public IReadOnlyList<ReplicaSnapshot> Replicas(string resource) =>
        [.. _current.Values.Where(r => r.Resource == resource).OrderBy(r => r.Id, StringComparer.Ordinal)];

    public ReplicaSnapshot Replica(string resource, int index = 0) =>
        Replicas(resource) is var replicas && index < replicas.Count
            ? replicas[index]
            : throw new ArgumentException($"'{resource}' has no replica {index}; known: {Describe()}");

    public ReplicaSnapshot Current(string id) => _current[id];

    /// <summary>The replica's own HTTP address (not Aspire's proxy in front of all replicas).</summary>
    public Uri GetEndpoint(string resource, int index = 0) =>
        Replica(resource, index).Endpoint ?? throw new ArgumentException($"'{resource}' replica {index} has no HTTP endpoint");

    /// <summary>The address users reach: Aspire's proxy, which spreads connections over the replicas.</summary>
    public Uri GetProxyEndpoint(string resource) => App.GetEndpoint(resource, "http");

    public async Task<string> GetConnectionStringAsync(string resource) =>
        await App.GetConnectionStringAsync(resource) ?? throw new ArgumentException($"'{resource}' has no connection string");

    /// <summary>How often the replica came up again with a new process after its first start.</summary>
    public int Restarts(string id) =>
        Math.Max(0, Events.Where(e => e.Id == id && e.IsRunning && e.Pid is > 0).Select(e => e.Pid).Distinct().Count() - 1);

    public int Restarts(string resource, int index) => Restarts(Replica(resource, index).Id);

    public int TotalRestarts(string resource) => Replicas(resource).Sum(r => Restarts(r.Id));

    /// <summary>Stops a replica with Aspire's Stop command, once it runs (one that the restart policy is starting again is waited for).</summary>
    public async Task StopReplicaAsync(string resource, int index)
    {
        var id = Replica(resource, index).Id;
        await WaitUntilAsync(s => s.Current(id).IsRunning, TimeSpan.FromSeconds(90), _stop.Token);
        await CommandAsync(id, KnownResourceCommands.StopCommand);
    }

    /// <summary>Starts a stopped replica with Aspire's Start command (nothing to do when it already runs again).</summary>
    public async Task StartReplicaAsync(string resource, int index)
    {
        var id = Replica(resource, index).Id;
        if (!Current(id).IsRunning)
        {
            await CommandAsync(id, KnownResourceCommands.StartCommand);
        }
    }

    public async Task RestartReplicaAsync(string resource, int index)
    {
        var id = Replica(resource, index).Id;
        await WaitUntilAsync(s => s.Current(id).IsRunning, TimeSpan.FromSeconds(90), _stop.Token);
        await CommandAsync(id, KnownResourceCommands.RestartCommand);
    }

    /// <summary>Runs one of Aspire's resource commands (what the dashboard's buttons do) and throws if it failed.</summary>
    public async Task CommandAsync(string id, string command, InteractionInputCollection? arguments = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = arguments is null
                ? await App.ResourceCommands.ExecuteCommandAsync(id, command, _stop.Token)
                : await App.ResourceCommands.ExecuteCommandAsync(id, command, arguments, _stop.Token);
            if (result.Success)
            {
                return;
            }
            // While Aspire re-creates a replica that is starting again, DCP briefly knows no such executable ("NotFound"):
            // the dashboard's button would say so and work when pressed again a moment later; so does this.
            if (attempt == 5 || result.Message?.Contains("NotFound", StringComparison.Ordinal) != true)
            {
                throw new InvalidOperationException($"{command} on {id} failed: {result.Message}");
            }
            await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
        }
    }

    /// <summary>Waits until every replica of <paramref name="resource"/> runs and is ready (projects: their own <c>/health</c> answers 200).</summary>
    public async Task WaitForHealthyAsync(string resource, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var replicas = Replicas(resource);
            if (replicas.Count > 0 && replicas.All(r => r.IsRunning))
            {
                var ready = await Task.WhenAll(replicas.Select(r => IsReadyAsync(r, deadline.Token)));
                if (ready.All(x => x))
                {
                    return;
                }
            }
            try
            {
                await Task.WhenAny(Changed(), Task.Delay(250, deadline.Token)).WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"{resource} not healthy after {timeout.TotalSeconds:0} s (consoles in artifacts/logs); resources: {Describe()}");
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> with the resources' states.</summary>
    public async Task WaitUntilAsync(Func<AspireSystem, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (!condition(this))
        {
            try
            {
                await Task.WhenAny(Changed(), Task.Delay(250, deadline.Token)).WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"condition not met after {timeout.TotalSeconds:0} s; resources: {Describe()}");
            }
        }
    }

    /// <summary>The latest snapshot of a resource that is not a process (a model), once it has one.</summary>
    public CustomResourceSnapshot? Snapshot(string resource) =>
        App.ResourceNotifications.TryGetCurrentState(resource, out var current) ? current.Snapshot : null;

    /// <summary>Waits until the snapshot of <paramref name="resource"/> satisfies <paramref name="condition"/>; returns it.</summary>
    public async Task<CustomResourceSnapshot> WaitForSnapshotAsync(string resource, Func<CustomResourceSnapshot, bool> condition, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            return (await App.ResourceNotifications.WaitForResourceAsync(resource, e => condition(e.Snapshot), deadline.Token)).Snapshot;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var last = Snapshot(resource);
            throw new TimeoutException($"{resource} never reached the expected state in {timeout.TotalSeconds:0} s; last: {last?.State?.Text} " +
                string.Join(", ", last?.Properties.Select(p => $"{p.Name}={p.Value}") ?? []));
        }
    }

    public static string? Property(CustomResourceSnapshot snapshot, string name) =>
        snapshot.Properties.FirstOrDefault(p => p.Name == name)?.Value?.ToString();

    /// <summary>The console output of one replica that Aspire captured (the last 5,000 lines).</summary>
    public IReadOnlyList<string> ConsoleLog(string id) => _logs.TryGetValue(id, out var lines) ? [.. lines] : [];

    /// <summary>Writes each replica's console log to <c>{directory}/{resource}-{n}.log</c>, so a failed run keeps the services' account.</summary>
    public void WriteConsoleLogs(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var resource in ResourceNames())
        {
            var replicas = Replicas(resource);
            for (var i = 0; i < replicas.Count; i++)
            {
                var name = replicas.Count == 1 ? resource : $"{resource}-{i}";
                File.WriteAllLines(Path.Combine(directory, $"{name}.log"), ConsoleLog(replicas[i].Id));
            }
        }
    }

    public string Describe() => string.Join(", ", _current.Values.OrderBy(r => r.Id, StringComparer.Ordinal)
        .Select(r => $"{r.Id}={r.State}{(r.Health is null ? "" : $"/{r.Health}")}"));

    /// <summary>Stops and disposes the application; a second call (a test's, then its fixture's) does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        try
        {
            await App.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // DisposeAsync below tears down what is left.
        }
        await _stop.CancelAsync();
        await App.DisposeAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(RunDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A file still held open: the folder is under the git-ignored run folder anyway.
        }
    }

    /// <summary>The graph's processes: projects and executables, less Aspire's hidden helpers (a project's rebuilder).</summary>
    private IEnumerable<string> ResourceNames() => App.Services.GetRequiredService<DistributedApplicationModel>().Resources
        .Where(IsProcess)
        .Select(r => r.Name);

    private static bool IsProcess(IResource resource) =>
        resource is ProjectResource || (resource is ExecutableResource && !resource.GetType().Name.Contains("Rebuilder", StringComparison.Ordinal));

    private async Task<bool> IsReadyAsync(ReplicaSnapshot replica, CancellationToken cancellationToken)
    {
        if (replica.Endpoint is null || !App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Any(r => r.Name == replica.Resource && r is ProjectResource))
        {
            return replica.Health == "Healthy";
        }
        try
        {
            using var response = await _http.GetAsync(new Uri(replica.Endpoint, "/health"), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private void Watch()
    {
        var notifications = App.Services.GetRequiredService<ResourceNotificationService>();
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in notifications.WatchAsync(_stop.Token))
                {
                    if (!IsProcess(change.Resource))
                    {
                        continue;
                    }
                    var s = change.Snapshot;
                    var url = s.EnvironmentVariables.FirstOrDefault(v => v.Name == "ASPNETCORE_URLS")?.Value?.Split(';')[0];
                    var snapshot = new ReplicaSnapshot(change.ResourceId, change.Resource.Name, s.State?.Text,
                        s.HealthStatus?.ToString(), s.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value as int?,
                        url is null ? null : new Uri(url), s.ExitCode, DateTimeOffset.UtcNow);
                    if (_current.TryAdd(change.ResourceId, snapshot))
                    {
                        _ = Task.Run(() => KeepLogsAsync(logs, change.ResourceId));
                    }
                    var previous = _current[change.ResourceId];
                    _current[change.ResourceId] = snapshot;
                    lock (_events)
                    {
                        if (_events.Count == 0 || previous.State != snapshot.State || previous.Pid != snapshot.Pid || previous.Health != snapshot.Health
                            || !_events.Any(e => e.Id == snapshot.Id))
                        {
                            _events.Add(snapshot);
                        }
                    }
                    Interlocked.Exchange(ref _changed, NewSignal()).TrySetResult();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    private async Task KeepLogsAsync(ResourceLoggerService logs, string id)
    {
        var lines = _logs.GetOrAdd(id, _ => new ConcurrentQueue<string>());
        try
        {
            await foreach (var batch in logs.WatchAsync(id).WithCancellation(_stop.Token))
            {
                foreach (var line in batch)
                {
                    // Without the colours the services write for Aspire's dashboard: CI greps these files for "fail:".
                    lines.Enqueue($"{(line.IsErrorMessage ? "ERR " : "    ")}{AnsiEscape.Replace(line.Content, "")}");
                    while (lines.Count > 5000 && lines.TryDequeue(out _))
                    {
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static readonly System.Text.RegularExpressions.Regex AnsiEscape = new(@"\x1B\[[0-9;]*m", System.Text.RegularExpressions.RegexOptions.Compiled);

    private Task Changed() => Volatile.Read(ref _changed).Task;

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
