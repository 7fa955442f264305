using Contracts.Jobs;

namespace Gateway.Hubs;

/// <summary>
/// Which of this replica's connections follow which jobs, and the last state each was sent. An
/// update is delivered to a connection only if it moves the job forward (queued → running →
/// terminal), so a notice heard twice, or a re-read racing a notice, never pushes twice.
/// </summary>
public sealed class JobSubscriptions
{
    /// <summary>Most jobs one connection may follow at once.</summary>
    public const int MaxPerConnection = 10_000;

    private readonly object _gate = new();
    private readonly Dictionary<string, Dictionary<string, int>> _byJob = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _byConnection = new(StringComparer.Ordinal);

    public int JobCount
    {
        get
        {
            lock (_gate)
            {
                return _byJob.Count;
            }
        }
    }

    /// <summary>False when the connection already follows too many jobs.</summary>
    public bool Add(string connectionId, string jobId)
    {
        lock (_gate)
        {
            if (!_byConnection.TryGetValue(connectionId, out var jobs))
            {
                _byConnection[connectionId] = jobs = new HashSet<string>(StringComparer.Ordinal);
            }
            if (jobs.Count >= MaxPerConnection && !jobs.Contains(jobId))
            {
                return false;
            }
            jobs.Add(jobId);
            if (!_byJob.TryGetValue(jobId, out var connections))
            {
                _byJob[jobId] = connections = new Dictionary<string, int>(StringComparer.Ordinal);
            }
            connections.TryAdd(connectionId, -1);
            return true;
        }
    }

    public void RemoveConnection(string connectionId)
    {
        lock (_gate)
        {
            if (!_byConnection.Remove(connectionId, out var jobs))
            {
                return;
            }
            foreach (var job in jobs)
            {
                if (_byJob.TryGetValue(job, out var connections) && connections.Remove(connectionId) && connections.Count == 0)
                {
                    _byJob.Remove(job);
                }
            }
        }
    }

    /// <summary>The connections that should get <paramref name="record"/> now; marks it sent and drops finished subscriptions.</summary>
    public List<string> TakeRecipients(JobRecord record)
    {
        var rank = Rank(record.Status);
        var recipients = new List<string>();
        lock (_gate)
        {
            if (!_byJob.TryGetValue(record.Id, out var connections))
            {
                return recipients;
            }
            foreach (var (connection, sent) in connections)
            {
                if (rank > sent)
                {
                    recipients.Add(connection);
                }
            }
            foreach (var connection in recipients)
            {
                connections[connection] = rank;
            }
            if (record.IsTerminal)
            {
                foreach (var connection in connections.Keys)
                {
                    if (_byConnection.TryGetValue(connection, out var jobs))
                    {
                        jobs.Remove(record.Id);
                    }
                }
                _byJob.Remove(record.Id);
            }
        }
        return recipients;
    }

    /// <summary>Jobs with at least one follower here, for the re-read after a Redis reconnect.</summary>
    public List<string> PendingJobs()
    {
        lock (_gate)
        {
            return [.. _byJob.Keys];
        }
    }

    private static int Rank(JobStatus status) => status switch
    {
        JobStatus.Queued => 0,
        JobStatus.Running => 1,
        _ => 2,
    };
}
