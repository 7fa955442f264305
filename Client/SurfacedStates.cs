using Contracts.Jobs;

namespace Client;

/// <summary>
/// How far each job has been surfaced to the application. A job only moves forward (queued → running → terminal), and
/// the same state can reach the client twice — as Subscribe's answer and as a push, or again after a reconnect — so a
/// state at or behind the last one surfaced is dropped. Bounded: beyond <c>capacity</c> jobs the oldest are forgotten,
/// except those still awaited (<c>awaited</c>), which a late duplicate could otherwise reach. Not thread-safe.
/// </summary>
internal sealed class SurfacedStates(int capacity, Func<string, bool> awaited)
{
    private readonly Dictionary<string, int> _rank = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

    public int Count => _rank.Count;

    /// <summary>Records <paramref name="status"/> for the job; false when it is not ahead of what was surfaced already.</summary>
    public bool TryAdvance(string jobId, JobStatus status)
    {
        var rank = Rank(status);
        if (_rank.TryGetValue(jobId, out var seen))
        {
            if (rank <= seen)
            {
                return false;
            }
            _rank[jobId] = rank;
            return true;
        }
        _rank[jobId] = rank;
        _order.Enqueue(jobId);
        Trim();
        return true;
    }

    private void Trim()
    {
        // Each job is looked at once at most per call: awaited ones go to the back, so the next call starts past them.
        for (var looked = _order.Count; _rank.Count > capacity && looked > 0; looked--)
        {
            var oldest = _order.Dequeue();
            if (_rank[oldest] < Rank(JobStatus.Succeeded) && awaited(oldest))
            {
                _order.Enqueue(oldest);
            }
            else
            {
                _rank.Remove(oldest);
            }
        }
    }

    // Every terminal state ranks the same: a terminal job never changes again.
    private static int Rank(JobStatus status) => status.IsTerminal() ? 2 : status == JobStatus.Running ? 1 : 0;
}
