using System.Collections.Concurrent;
using Contracts.Jobs;

namespace Gateway.Jobs;

/// <summary>HTTP requests waiting for a job to finish (<c>?wait=</c>, predict, OIP infer) on this replica.</summary>
public sealed class JobWaiters
{
    private readonly ConcurrentDictionary<string, List<TaskCompletionSource<JobRecord>>> _waiters = new(StringComparer.Ordinal);

    public Task<JobRecord> Register(string jobId, out Action unregister)
    {
        var tcs = new TaskCompletionSource<JobRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        var list = _waiters.GetOrAdd(jobId, _ => []);
        lock (list)
        {
            list.Add(tcs);
        }
        unregister = () =>
        {
            lock (list)
            {
                list.Remove(tcs);
                if (list.Count == 0)
                {
                    _waiters.TryRemove(new KeyValuePair<string, List<TaskCompletionSource<JobRecord>>>(jobId, list));
                }
            }
        };
        return tcs.Task;
    }

    public bool HasWaiters(string jobId) => _waiters.ContainsKey(jobId);

    public IEnumerable<string> PendingJobs => _waiters.Keys;

    public void Complete(JobRecord record)
    {
        if (!record.IsTerminal || !_waiters.TryRemove(record.Id, out var list))
        {
            return;
        }
        lock (list)
        {
            foreach (var tcs in list)
            {
                tcs.TrySetResult(record);
            }
        }
    }
}
