using System.Diagnostics;

namespace AppHost.Hosting;

/// <summary>
/// Starts one replica of a resource, watches its readiness, restarts it with backoff when it exits
/// unexpectedly, and stops it gracefully (SIGTERM, then kill) on request.
/// </summary>
internal sealed class ReplicaRunner
{
    private static readonly TimeSpan HealthInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(30);

    private static readonly string? SetsidPath = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null;

    private readonly DistributedApplication _app;
    private readonly object _gate = new();
    private readonly Dictionary<string, string> _environmentOverrides = new(StringComparer.Ordinal);
    private CancellationTokenSource _lifetime = new();
    private Task _loop = Task.CompletedTask;
    private Process? _process;
    private ResourceState _state = ResourceState.NotStarted;
    private string? _health;
    private DateTimeOffset? _startedAt;
    private int _restarts;
    private int? _exitCode;
    private bool _stopRequested;

    public ReplicaRunner(DistributedApplication app, ExecutableResource resource, int index, string dataDirectory)
    {
        _app = app;
        Resource = resource;
        Index = index;
        Name = resource.ReplicaName(index);
        DataDirectory = dataDirectory;
        Log = new ConsoleLog(app.Options.ConsoleLogCapacity);
        Publish();
    }

    public ExecutableResource Resource { get; }

    public int Index { get; }

    public string Name { get; }

    public string DataDirectory { get; }

    public ConsoleLog Log { get; }

    public int Port => Resource.AllocatedPorts.Length > Index ? Resource.AllocatedPorts[Index] : 0;

    public int? Pid
    {
        get
        {
            lock (_gate)
            {
                return _process is { HasExited: false } p ? p.Id : null;
            }
        }
    }

    public void Start()
    {
        lock (_gate)
        {
            if (!_loop.IsCompleted)
            {
                return;
            }
            _stopRequested = false;
            _lifetime = new CancellationTokenSource();
            _loop = Task.Run(() => RunAsync(_lifetime.Token));
        }
    }

    /// <summary>Stops the replica and its supervision; it stays stopped until <see cref="Start"/>.</summary>
    public async Task StopAsync()
    {
        Process? process;
        Task loop;
        lock (_gate)
        {
            _stopRequested = true;
            process = _process;
            loop = _loop;
        }
        await _lifetime.CancelAsync();
        if (process is not null)
        {
            await TerminateAsync(process);
        }
        await loop;
    }

    /// <summary>Sets (or with null, removes) a variable that wins over the resource's environment from the next start on.</summary>
    public void SetEnvironment(string name, string? value)
    {
        lock (_gate)
        {
            if (value is null)
            {
                _environmentOverrides.Remove(name);
            }
            else
            {
                _environmentOverrides[name] = value;
            }
        }
    }

    /// <summary>Stops and starts again, counting a restart.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        Interlocked.Increment(ref _restarts);
        Start();
    }

    private async Task RunAsync(CancellationToken token)
    {
        var delay = _app.Options.RestartDelay;
        try
        {
            SetState(ResourceState.Waiting);
            await _app.WaitForDependenciesAsync(Resource, token);
            while (!token.IsCancellationRequested)
            {
                var context = new ReplicaStartContext(Name, Index, Port, DataDirectory);
                Resource.Prepare(context);
                SetState(ResourceState.Starting, health: null);
                var process = Launch(context);
                if (process is null)
                {
                    return;
                }
                var exited = process.WaitForExitAsync(CancellationToken.None);
                var startedAt = DateTimeOffset.UtcNow;
                await WatchHealthAsync(process, exited, token);
                if (token.IsCancellationRequested)
                {
                    await TerminateAsync(process);
                }
                await exited;
                var code = process.ExitCode;
                process.Dispose();
                lock (_gate)
                {
                    _process = null;
                    _exitCode = code;
                }
                await Resource.CleanupAfterStopAsync(context);
                if (_stopRequested || token.IsCancellationRequested || _app.IsStopping)
                {
                    SetState(ResourceState.Exited);
                    return;
                }
                // Crashed or exited on its own: count it and come back, backing off on repeated crashes.
                SetState(ResourceState.Exited, health: $"exited with code {code}");
                Emit($"{Name} exited with code {code}; restarting in {delay.TotalSeconds:0.#} s", isError: true);
                if (DateTimeOffset.UtcNow - startedAt > StableAfter)
                {
                    delay = _app.Options.RestartDelay;
                }
                await Task.Delay(delay, token);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _app.Options.MaxRestartDelay.Ticks));
                Interlocked.Increment(ref _restarts);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            SetState(ResourceState.Exited);
        }
    }

    private Process? Launch(ReplicaStartContext context)
    {
        // setsid gives the replica its own session (same PID: it execs), so a terminal's Ctrl+C reaches only the
        // AppHost, which then stops services before the servers they depend on.
        var info = new ProcessStartInfo(SetsidPath ?? Resource.Command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Resource.WorkingDirectory ?? _app.Options.RunDirectory,
        };
        if (SetsidPath is not null)
        {
            info.ArgumentList.Add(Resource.Command);
        }
        foreach (var arg in Resource.Args.Concat(context.Args))
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in _app.EnvironmentFor(Resource, Index))
        {
            info.Environment[key] = value;
        }
        foreach (var (key, value) in context.Environment)
        {
            info.Environment[key] = value;
        }
        lock (_gate)
        {
            foreach (var (key, value) in _environmentOverrides)
            {
                info.Environment[key] = value;
            }
        }

        Process process;
        try
        {
            process = new Process { StartInfo = info, EnableRaisingEvents = true };
            process.OutputDataReceived += (_, e) => OnOutput(e.Data, isError: false);
            process.ErrorDataReceived += (_, e) => OnOutput(e.Data, isError: true);
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Emit($"{Name} failed to start: {e.Message}", isError: true);
            SetState(ResourceState.FailedToStart, health: e.Message);
            return null;
        }
        lock (_gate)
        {
            _process = process;
            _startedAt = DateTimeOffset.UtcNow;
            _exitCode = null;
        }
        Publish();
        return process;
    }

    /// <summary>Moves Starting → Running once ready, then Running ⇄ Unhealthy, until the process exits.</summary>
    private async Task WatchHealthAsync(Process process, Task exited, CancellationToken token)
    {
        var deadline = DateTimeOffset.UtcNow + Resource.StartupTimeout;
        var ready = false;
        var livenessFailures = 0;
        while (!exited.IsCompleted && !token.IsCancellationRequested)
        {
            var problem = await ReadinessProbes.CheckAsync(Resource.Readiness, Port, token);
            if (exited.IsCompleted)
            {
                break;
            }
            if (ready && Resource.LivenessPath is { } livenessPath)
            {
                var notLive = await ReadinessProbes.CheckAliveAsync(livenessPath, Port, token);
                livenessFailures = notLive is null ? 0 : livenessFailures + 1;
                if (livenessFailures >= Resource.LivenessFailureThreshold && !exited.IsCompleted)
                {
                    // Hung: it cannot be trusted to stop gracefully, so it is killed (SIGKILL) and the restart loop takes over.
                    Emit($"{Name} failed liveness {livenessFailures} times in a row ({notLive}); killing and restarting it", isError: true);
                    SetState(ResourceState.Unhealthy, health: $"not live: {notLive}");
                    KillHung(process);
                    break;
                }
            }
            if (problem is null)
            {
                ready = true;
                SetState(ResourceState.Running, health: "Healthy");
            }
            else if (ready)
            {
                SetState(ResourceState.Unhealthy, health: problem);
            }
            else if (DateTimeOffset.UtcNow > deadline)
            {
                // Never became ready: treat as a failed start and let the restart loop try again.
                Emit($"{Name} not ready after {Resource.StartupTimeout.TotalSeconds:0} s ({problem}); restarting", isError: true);
                SetState(ResourceState.Unhealthy, health: problem);
                await TerminateAsync(process);
                break;
            }
            else
            {
                lock (_gate)
                {
                    _health = problem;
                }
            }
            try
            {
                await Task.WhenAny(exited, Task.Delay(ready ? HealthInterval * 2 : TimeSpan.FromMilliseconds(200), token));
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static void KillHung(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task TerminateAsync(Process process)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }
            SetState(ResourceState.Stopping);
            Posix.Terminate(process.Id);
            using var grace = new CancellationTokenSource(Resource.StopTimeout);
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                Emit($"{Name} did not stop within {Resource.StopTimeout.TotalSeconds:0} s; killing it", isError: true);
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private void OnOutput(string? line, bool isError)
    {
        if (line is not null)
        {
            Emit(line, isError);
        }
    }

    private void Emit(string text, bool isError)
    {
        var line = new LogLine(DateTimeOffset.UtcNow, Name, isError, text);
        Log.Write(line);
        _app.Echo(line);
    }

    private void SetState(ResourceState state, string? health = "")
    {
        lock (_gate)
        {
            _state = state;
            if (health != "")
            {
                _health = health;
            }
        }
        Publish();
    }

    private void Publish()
    {
        ResourceSnapshot snapshot;
        lock (_gate)
        {
            snapshot = new ResourceSnapshot(
                Name,
                Resource.Name,
                Resource.Kind,
                Index,
                _state,
                _health,
                _process is { } p ? SafePid(p) : null,
                Resource.HasHttpEndpoint && Port > 0 ? [$"http://127.0.0.1:{Port}"] : Port > 0 ? [$"tcp://127.0.0.1:{Port}"] : [],
                _startedAt,
                _restarts,
                _exitCode);
        }
        _app.Model.Update(snapshot);
    }

    private static int? SafePid(Process p)
    {
        try
        {
            return p.Id;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
