using System.Collections.Concurrent;
using Contracts.Jobs;

namespace Integration.Tests;

/// <summary>
/// Bookkeeping in the spirit of RabbitMQ's Jepsen checks, at the level of jobs: every job a client
/// was acknowledged for is tracked to its outcome; a job whose terminal state never reached its client is lost, one
/// with two terminal pushes is duplicated.
/// </summary>
public sealed class JobLedger
{
    private readonly ConcurrentDictionary<string, ConcurrentBag<JobRecord>> _terminal = new();

    public void Acknowledged(string jobId) => _terminal.TryAdd(jobId, []);

    public IReadOnlyCollection<string> Ids => [.. _terminal.Keys];

    /// <summary>
    /// Records the terminal states a client received (call after the run, with all of its clients): every one pushed,
    /// or else the one a subscribe returned.
    /// </summary>
    public void Observe(InferenceClient client)
    {
        foreach (var (id, updates) in client.Updates)
        {
            if (_terminal.TryGetValue(id, out var bag))
            {
                var pushed = client.Pushes.TryGetValue(id, out var p) ? p.Where(u => u.IsTerminal).ToList() : [];
                foreach (var update in pushed.Count > 0 ? pushed : updates.Where(u => u.IsTerminal).Take(1))
                {
                    bag.Add(update);
                }
            }
        }
    }

    /// <summary>Records a terminal record read back over REST (a poll sees the state, not pushes: it cannot show duplicates).</summary>
    public void Observe(JobRecord record)
    {
        if (record.IsTerminal && _terminal.TryGetValue(record.Id, out var bag) && bag.IsEmpty)
        {
            bag.Add(record);
        }
    }

    public sealed record Report(int Acknowledged, int Succeeded, int FailedWithReason, int Expired, int Cancelled, int Lost, int Duplicated)
    {
        public override string ToString() =>
            $"acknowledged {Acknowledged}: succeeded {Succeeded}, failed with reason {FailedWithReason}, expired {Expired}, cancelled {Cancelled}, lost {Lost}, duplicated {Duplicated}";
    }

    /// <summary>The first terminal state each job's clients received (jobs that got none are left out).</summary>
    public IReadOnlyList<JobRecord> Finals() => [.. _terminal.Values.Where(b => !b.IsEmpty).Select(b => b.First())];

    /// <summary>The jobs no terminal state reached (to look up when a run loses some).</summary>
    public IReadOnlyList<string> LostIds() => [.. _terminal.Where(t => t.Value.IsEmpty).Select(t => t.Key)];

    public Report Tally()
    {
        int succeeded = 0, failed = 0, expired = 0, cancelled = 0, lost = 0, duplicated = 0;
        foreach (var (_, bag) in _terminal)
        {
            if (bag.IsEmpty)
            {
                lost++;
                continue;
            }
            if (bag.Count > 1)
            {
                duplicated++;
            }
            switch (bag.First().Status)
            {
                case JobStatus.Succeeded: succeeded++; break;
                case JobStatus.Failed when bag.First().Error is not null: failed++; break;
                case JobStatus.Expired: expired++; break;
                case JobStatus.Cancelled: cancelled++; break;
                default: lost++; break;
            }
        }
        return new Report(_terminal.Count, succeeded, failed, expired, cancelled, lost, duplicated);
    }
}
