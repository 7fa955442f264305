namespace AppHost.Hosting;

/// <summary>Lifecycle of one replica, with Aspire's state names.</summary>
public enum ResourceState
{
    NotStarted,
    Waiting,
    Starting,
    Running,
    Unhealthy,
    Stopping,
    Exited,
    FailedToStart,
}

/// <summary>One replica as the dashboard and tests see it at a moment.</summary>
public sealed record ResourceSnapshot(
    string Name,
    string Resource,
    string Kind,
    int Replica,
    ResourceState State,
    string? Health,
    int? Pid,
    IReadOnlyList<string> Endpoints,
    DateTimeOffset? StartedAt,
    int Restarts,
    int? ExitCode)
{
    public bool IsRunning => State == ResourceState.Running;
}

/// <summary>A state change, kept in order so tests can check what started before what.</summary>
public sealed record ResourceEvent(DateTimeOffset At, string Name, ResourceState State, int? Pid);

/// <summary>
/// The live resource model: latest snapshot per replica, an ordered event log, and a way to wait
/// for a condition without polling.
/// </summary>
public sealed class ResourceModel
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ResourceSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly List<ResourceEvent> _events = [];
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>Raised after every change, outside the model's lock.</summary>
    public event Action<ResourceSnapshot>? Changed;

    /// <summary>Raised, outside the model's lock, when a replica leaves the model (scaled down).</summary>
    public event Action<string>? Removed;

    public IReadOnlyList<ResourceSnapshot> Snapshots
    {
        get
        {
            lock (_gate)
            {
                return _order.Select(n => _snapshots[n]).ToList();
            }
        }
    }

    public IReadOnlyList<ResourceEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return _events.ToList();
            }
        }
    }

    public ResourceSnapshot? Get(string name)
    {
        lock (_gate)
        {
            return _snapshots.GetValueOrDefault(name);
        }
    }

    internal void Update(ResourceSnapshot snapshot)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            var previous = _snapshots.GetValueOrDefault(snapshot.Name);
            if (previous is null)
            {
                // A replica added at run time goes next to its siblings, not at the end.
                var last = _order.FindLastIndex(n => _snapshots[n].Resource == snapshot.Resource);
                _order.Insert(last < 0 ? _order.Count : last + 1, snapshot.Name);
            }
            _snapshots[snapshot.Name] = snapshot;
            if (previous?.State != snapshot.State || previous.Pid != snapshot.Pid)
            {
                _events.Add(new ResourceEvent(DateTimeOffset.UtcNow, snapshot.Name, snapshot.State, snapshot.Pid));
            }
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
        Changed?.Invoke(snapshot);
    }

    internal void Remove(string name)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (!_snapshots.Remove(name))
            {
                return;
            }
            _order.Remove(name);
            changed = _changed;
            _changed = NewSignal();
        }
        changed.TrySetResult();
        Removed?.Invoke(name);
    }

    /// <summary>Waits until <paramref name="predicate"/> holds for the model; throws <see cref="TimeoutException"/> with the current states.</summary>
    public async Task WaitUntilAsync(Func<ResourceModel, bool> predicate, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }
            if (predicate(this))
            {
                return;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s; resources: {Describe()}");
            }
        }
    }

    public string Describe() => string.Join(", ", Snapshots.Select(s => $"{s.Name}={s.State}{(s.Health is null ? "" : $" ({s.Health})")}"));

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
