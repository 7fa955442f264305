using System.Globalization;

namespace AppHost.Hosting;

/// <summary>
/// Runs an application graph: allocates ports, starts every replica in dependency order (WaitFor),
/// supervises them, adds and removes replicas of scalable resources while running, and stops everything —
/// gracefully, then forcefully — leaving nothing behind.
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly List<IResource> _resources;
    private readonly List<ReplicaRunner> _replicas = [];
    private readonly HashSet<ReplicaRunner> _leaving = [];
    private readonly object _replicasGate = new();
    private readonly object _echoGate = new();
    private int _stopped;
    private volatile bool _stopping;

    internal DistributedApplication(DistributedApplicationOptions options, List<IResource> resources)
    {
        Options = options;
        _resources = resources;
    }

    /// <summary>Environment variable set on every child process to the run folder of the AppHost that started it.</summary>
    public const string RunMarkerVariable = "ASPIRE_INFERENCE_APPHOST_RUN";

    public DistributedApplicationOptions Options { get; }

    public ResourceModel Model { get; } = new();

    public IReadOnlyList<IResource> Resources => _resources;

    /// <summary>True once shutdown began: replicas that exit now (e.g. from the terminal's Ctrl+C) are not restarted.</summary>
    public bool IsStopping => _stopping;

    /// <summary>Marks the start of shutdown; call it from a signal handler before <see cref="StopAsync"/>.</summary>
    public void BeginShutdown() => _stopping = true;

    private IEnumerable<ExecutableResource> Executables => _resources.OfType<ExecutableResource>();

    /// <summary>Starts every resource and returns once all replicas are Running; throws if one cannot start in time.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        Prerequisites.Check(Executables);
        Directory.CreateDirectory(Options.RunDirectory);
        AllocatePorts();
        lock (_replicasGate)
        {
            foreach (var resource in Executables)
            {
                for (var i = 0; i < resource.Replicas; i++)
                {
                    _replicas.Add(new ReplicaRunner(this, resource, i, Path.Combine(Options.RunDirectory, resource.ReplicaName(i))));
                }
            }
        }
        foreach (var replica in ReplicasNow())
        {
            replica.Start();
        }
        var timeout = Executables.Select(r => r.StartupTimeout).DefaultIfEmpty(TimeSpan.Zero).Max() * 2;
        await Model.WaitUntilAsync(
            m =>
            {
                var failed = m.Snapshots.FirstOrDefault(s => s.State == ResourceState.FailedToStart);
                return failed is not null
                    ? throw new InvalidOperationException($"{failed.Name} failed to start: {failed.Health}")
                    : m.Snapshots.All(s => s.IsRunning);
            },
            timeout,
            cancellationToken);
    }

    /// <summary>Waits for a resource (all its replicas) to be Running.</summary>
    public Task WaitForResourceHealthyAsync(string resourceName, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Model.WaitUntilAsync(
            m => m.Snapshots.Where(s => s.Resource == resourceName).ToList() is { Count: > 0 } replicas && replicas.All(s => s.IsRunning),
            timeout ?? TimeSpan.FromSeconds(120),
            cancellationToken);

    public string? GetConnectionString(string resourceName) =>
        _resources.OfType<IResourceWithConnectionString>().FirstOrDefault(r => r.Name == resourceName)?.ConnectionString;

    /// <summary>The HTTP endpoint of one replica of a project, e.g. <c>GetEndpoint("gateway", 1)</c>.</summary>
    public Uri GetEndpoint(string resourceName, int replica = 0)
    {
        var resource = Executables.FirstOrDefault(r => r.Name == resourceName)
            ?? throw new ArgumentException($"No resource named '{resourceName}'.", nameof(resourceName));
        return new Uri(resource.HttpEndpoints.ElementAtOrDefault(replica)
            ?? throw new ArgumentException($"'{resourceName}' has no HTTP endpoint for replica {replica}.", nameof(replica)));
    }

    public HttpClient CreateHttpClient(string resourceName, int replica = 0) =>
        new() { BaseAddress = GetEndpoint(resourceName, replica), Timeout = TimeSpan.FromSeconds(100) };

    public ConsoleLog GetConsoleLog(string replicaName) => Replica(replicaName).Log;

    public Task RestartReplicaAsync(string replicaName) => Replica(replicaName).RestartAsync();

    public Task StopReplicaAsync(string replicaName) => Replica(replicaName).StopAsync();

    public void StartReplica(string replicaName) => Replica(replicaName).Start();

    /// <summary>
    /// Adds a replica to a scalable resource while the application runs: the lowest free replica number, the same
    /// environment, its own port when it serves HTTP, supervised like the others. Returns its name at once; it shows
    /// up in <see cref="Model"/> and becomes Running like any replica.
    /// </summary>
    public string AddReplica(string resourceName)
    {
        ReplicaRunner added;
        lock (_replicasGate)
        {
            var resource = ScalableResource(resourceName);
            var indexes = _replicas.Where(r => r.Resource == resource).Select(r => r.Index).ToHashSet();
            if (indexes.Count >= resource.MaxReplicas)
            {
                throw new InvalidOperationException($"{resourceName} already has {indexes.Count} replicas, the most it may have ({resource.MaxReplicas}).");
            }
            var index = Enumerable.Range(0, indexes.Count + 1).First(i => !indexes.Contains(i));
            if (resource.AllocatedPorts.Length > 0)
            {
                AllocateReplicaPort(resource, index);
            }
            added = new ReplicaRunner(this, resource, index, Path.Combine(Options.RunDirectory, resource.ReplicaName(index)));
            _replicas.Add(added);
        }
        added.Start();
        return added.Name;
    }

    /// <summary>
    /// Removes the highest-numbered replica of a scalable resource gracefully — SIGTERM, so a worker finishes the
    /// batch in hand and the broker requeues the rest — and drops it from <see cref="Model"/>. Returns its name.
    /// </summary>
    public async Task<string> RemoveReplicaAsync(string resourceName)
    {
        ReplicaRunner leaving;
        lock (_replicasGate)
        {
            var resource = ScalableResource(resourceName);
            var staying = _replicas.Where(r => r.Resource == resource && !_leaving.Contains(r)).ToList();
            if (staying.Count <= 1)
            {
                throw new InvalidOperationException($"{resourceName} has a single replica left; it is not removed (stop it instead).");
            }
            leaving = staying.MaxBy(r => r.Index)!;
            _leaving.Add(leaving);
        }
        try
        {
            await leaving.StopAsync();
        }
        finally
        {
            lock (_replicasGate)
            {
                _replicas.Remove(leaving);
                _leaving.Remove(leaving);
            }
        }
        Model.Remove(leaving.Name);
        return leaving.Name;
    }

    /// <summary>
    /// Overrides one environment variable of one replica from its next start on (null removes the override) — e.g. a
    /// test routing one worker's broker connection through a fault-injecting proxy. Restart the replica to apply it.
    /// </summary>
    public void SetReplicaEnvironment(string replicaName, string name, string? value) => Replica(replicaName).SetEnvironment(name, value);

    /// <summary>Stops projects first (they depend on the servers), then the servers; idempotent.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        var replicas = ReplicasNow();
        var projects = replicas.Where(r => r.Resource is ProjectResource).ToList();
        await Task.WhenAll(projects.Select(r => r.StopAsync()));
        await Task.WhenAll(replicas.Except(projects).Select(r => r.StopAsync()));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Options.DeleteRunDirectoryOnDispose)
        {
            try
            {
                Directory.Delete(Options.RunDirectory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A file still held open: the folder is under the run folder and git-ignored anyway.
            }
        }
    }

    internal async Task WaitForDependenciesAsync(ExecutableResource resource, CancellationToken token)
    {
        var names = resource.WaitsFor.OfType<ExecutableResource>().Select(r => r.Name).ToHashSet();
        if (names.Count == 0)
        {
            return;
        }
        await Model.WaitUntilAsync(
            m => names.All(n => m.Snapshots.Where(s => s.Resource == n).ToList() is { Count: > 0 } replicas && replicas.All(s => s.IsRunning)),
            Timeout.InfiniteTimeSpan,
            token);
    }

    /// <summary>The environment of one replica, with Aspire's variable names.</summary>
    internal Dictionary<string, string> EnvironmentFor(ExecutableResource resource, int index)
    {
        var env = new Dictionary<string, string>(resource.Environment, StringComparer.Ordinal)
        {
            // Marks every process this AppHost started (inherited by their children, e.g. epmd), for operators and leak checks.
            [RunMarkerVariable] = Options.RunDirectory,
        };
        foreach (var reference in resource.References)
        {
            env[$"ConnectionStrings__{reference.Name}"] = reference.ConnectionString;
        }
        foreach (var service in resource.ServiceReferences)
        {
            var i = 0;
            foreach (var endpoint in service.HttpEndpoints)
            {
                env[$"services__{service.Name}__http__{i++}"] = endpoint;
            }
        }
        if (resource is ProjectResource)
        {
            env["ASPNETCORE_URLS"] = resource.HttpEndpoints.ElementAt(index);
            env["DOTNET_ENVIRONMENT"] = Options.Environment;
            env["ASPNETCORE_ENVIRONMENT"] = Options.Environment;
            env["OTEL_SERVICE_NAME"] = resource.Name;
            env["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={resource.ReplicaName(index)}";
            env["DOTNET_SYSTEM_CONSOLE_ALLOW_ANSI_COLOR_REDIRECTION"] = "false";
            env["Logging__Console__FormatterName"] = "simple";
            env["Logging__Console__FormatterOptions__SingleLine"] = "true";
            if (!string.IsNullOrEmpty(Options.OtlpEndpoint))
            {
                env["OTEL_EXPORTER_OTLP_ENDPOINT"] = Options.OtlpEndpoint;
            }
        }
        return env;
    }

    internal void Echo(LogLine line)
    {
        if (Options.ConsoleEcho is not { } writer)
        {
            return;
        }
        lock (_echoGate)
        {
            writer.WriteLine($"[{line.Replica}] {line.Text}");
        }
    }

    private void AllocatePorts()
    {
        var taken = new HashSet<int>();
        foreach (var resource in Executables)
        {
            if (resource.Port is { } fixedPort)
            {
                resource.AllocatedPorts = Enumerable.Range(fixedPort, resource.Replicas).ToArray();
                foreach (var port in resource.AllocatedPorts)
                {
                    if (!PortAllocator.IsFree(port))
                    {
                        throw new MissingPrerequisiteException(
                            $"{resource.Name}: port {port} is already in use; stop what holds it or pick another port (e.g. --gateway-port 0 for a free one)");
                    }
                    taken.Add(port);
                }
            }
        }
        foreach (var resource in Executables)
        {
            if (resource.Port is null && (resource.HasHttpEndpoint || resource is IResourceWithConnectionString))
            {
                resource.AllocatedPorts = Enumerable.Range(0, resource.Replicas).Select(_ => PortAllocator.GetFreePort(taken)).ToArray();
            }
            if (resource is RabbitMQServerResource rabbit)
            {
                rabbit.DistributionPort = PortAllocator.GetFreePort(taken);
                rabbit.EpmdPort = PortAllocator.GetFreePort(taken);
                if (rabbit.NodeName.Length == 0)
                {
                    rabbit.NodeName = $"{rabbit.Name}-{rabbit.AllocatedPorts[0].ToString(CultureInfo.InvariantCulture)}@localhost";
                }
            }
        }
    }

    /// <summary>
    /// Writes every replica's console log (the last lines the AppHost kept) to <c>{directory}/{replica}.log</c>,
    /// so a failed test run leaves the services' own account of what went wrong.
    /// </summary>
    public void WriteConsoleLogs(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var replica in ReplicasNow())
        {
            File.WriteAllLines(
                Path.Combine(directory, $"{replica.Name}.log"),
                replica.Log.Lines.Select(l => $"{l.At:HH:mm:ss.fff} {(l.IsError ? "ERR" : "   ")} {l.Text}"));
        }
    }

    /// <summary>A port for a replica added at run time: the one it had before if still free, else a fresh one.</summary>
    private void AllocateReplicaPort(ExecutableResource resource, int index)
    {
        var taken = Executables.SelectMany(r => r.AllocatedPorts).ToHashSet();
        var ports = resource.AllocatedPorts.ToList();
        if (index < ports.Count && PortAllocator.IsFree(ports[index]))
        {
            return;
        }
        var port = resource.Port is { } first && !taken.Contains(first + index) && PortAllocator.IsFree(first + index)
            ? first + index
            : PortAllocator.GetFreePort(taken);
        if (index < ports.Count)
        {
            ports[index] = port;
        }
        else
        {
            ports.Add(port);
        }
        // A new array, never one changed in place: replicas read their port from it without a lock.
        resource.AllocatedPorts = [.. ports];
    }

    private ExecutableResource ScalableResource(string resourceName)
    {
        if (_stopping || _replicas.Count == 0)
        {
            throw new InvalidOperationException("Replicas are added and removed only while the application runs.");
        }
        var resource = Executables.FirstOrDefault(r => r.Name == resourceName)
            ?? throw new ArgumentException($"No resource named '{resourceName}'.", nameof(resourceName));
        return resource.IsScalable ? resource : throw new InvalidOperationException($"{resourceName} is not scalable.");
    }

    private List<ReplicaRunner> ReplicasNow()
    {
        lock (_replicasGate)
        {
            return [.. _replicas];
        }
    }

    private ReplicaRunner Replica(string replicaName) =>
        ReplicasNow().FirstOrDefault(r => r.Name == replicaName)
        ?? throw new ArgumentException($"No replica named '{replicaName}'; replicas: {string.Join(", ", ReplicasNow().Select(r => r.Name))}.", nameof(replicaName));
}
