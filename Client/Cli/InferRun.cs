using System.Collections.Concurrent;
using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR.Client;

namespace Client.Cli;

/// <summary>
/// Submits files as jobs, at most <c>concurrency</c> in flight, and collects their terminal records. Counts of
/// queued/running/done jobs are kept up to date from the pushed updates for a progress display.
/// </summary>
public sealed class InferRun(InferenceClient client, string model, double? timeoutSeconds, int concurrency)
{
    private const int SubmitAttempts = 5;
    // Fallback when a push went missing: ask the store directly this often.
    private static readonly TimeSpan PollEvery = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, JobStatus> _status = new();
    private int _done;
    private int _failed;

    public int Queued => _status.Values.Count(s => s == JobStatus.Queued);

    public int Running => _status.Values.Count(s => s == JobStatus.Running);

    public int Done => Volatile.Read(ref _done);

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>
    /// Runs every file; results come back in input order. The first file goes alone so that a refusal of the
    /// whole run (unknown model) surfaces once, as an <see cref="InferenceApiException"/>.
    /// </summary>
    public async Task<IReadOnlyList<FileResult>> RunAsync(IReadOnlyList<string> files, Action<FileResult> finished, CancellationToken cancellationToken)
    {
        var results = new FileResult[files.Count];
        void OnUpdate(JobRecord update)
        {
            // TryUpdate, not an indexer: a job already finished (and removed) must not come back as running.
            if (!update.IsTerminal && _status.TryGetValue(update.Id, out var current) && current != update.Status)
            {
                _status.TryUpdate(update.Id, update.Status, current);
            }
        }
        client.JobUpdated += OnUpdate;
        try
        {
            if (files.Count > 0)
            {
                results[0] = await RunOneAsync(files[0], finished, fatalRefusals: true, cancellationToken);
            }
            await Parallel.ForEachAsync(Enumerable.Range(1, Math.Max(0, files.Count - 1)),
                new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken },
                async (i, ct) => results[i] = await RunOneAsync(files[i], finished, fatalRefusals: false, ct));
        }
        finally
        {
            client.JobUpdated -= OnUpdate;
        }
        return results;
    }

    /// <summary>Cancels the jobs still in flight (after Ctrl+C); returns how many the gateway cancelled.</summary>
    public async Task<int> CancelPendingAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var cancelled = 0;
        await Parallel.ForEachAsync(_status.Keys.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
        {
            try
            {
                if ((await client.CancelAsync(id, deadline.Token)).Status == JobStatus.Cancelled)
                {
                    Interlocked.Increment(ref cancelled);
                }
            }
            catch (Exception e) when (e is InferenceApiException or InferenceConnectionException or OperationCanceledException)
            {
                // Finished meanwhile, or the gateway is gone: nothing more to do for it.
            }
        });
        return cancelled;
    }

    private async Task<FileResult> RunOneAsync(string file, Action<FileResult> finished, bool fatalRefusals, CancellationToken cancellationToken)
    {
        var result = await SubmitAndWaitAsync(file, fatalRefusals, cancellationToken);
        Interlocked.Increment(ref _done);
        if (!result.Succeeded)
        {
            Interlocked.Increment(ref _failed);
        }
        finished(result);
        return result;
    }

    private async Task<FileResult> SubmitAndWaitAsync(string file, bool fatalRefusals, CancellationToken cancellationToken)
    {
        byte[] input;
        try
        {
            input = await File.ReadAllBytesAsync(file, cancellationToken);
        }
        catch (IOException e)
        {
            return new FileResult(file, null, new JobError("unreadable_file", e.Message));
        }

        string id;
        try
        {
            id = await SubmitAsync(input, cancellationToken);
        }
        catch (InferenceApiException e) when (!(fatalRefusals && e.Code is "model_not_found" or "invalid_model_name"))
        {
            return new FileResult(file, null, new JobError(e.Code, e.Detail));
        }

        _status.TryAdd(id, JobStatus.Queued);
        var record = await WaitAsync(id, cancellationToken);
        _status.TryRemove(id, out _); // only once finished: an interrupted run cancels what is left here
        return new FileResult(file, record);
    }

    /// <summary>Submits with one idempotency key, retrying while the gateway is busy or the connection is being restored.</summary>
    private async Task<string> SubmitAsync(byte[] input, CancellationToken cancellationToken)
    {
        var options = new SubmitOptions(timeoutSeconds, IdempotencyKey: Guid.NewGuid().ToString("N"));
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.SubmitAsync(model, input, options, cancellationToken);
            }
            catch (InferenceApiException e) when (attempt < SubmitAttempts && e.Code is "queue_full" or "broker_unavailable" or "store_unavailable")
            {
                await Task.Delay(e.RetryAfter ?? TimeSpan.FromSeconds(attempt), cancellationToken);
            }
            catch (InferenceConnectionException) when (attempt < SubmitAttempts && client.State == HubConnectionState.Reconnecting)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    /// <summary>Waits for the pushed terminal update, asking the store now and then in case one was lost.</summary>
    private async Task<JobRecord> WaitAsync(string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await client.WaitAsync(id, PollEvery, cancellationToken);
            }
            catch (TimeoutException)
            {
                try
                {
                    if (await client.GetJobAsync(id, cancellationToken: cancellationToken) is { IsTerminal: true } record)
                    {
                        client.Forget(id);
                        return record;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TimeoutException)
                {
                    // The push may still come; keep waiting.
                }
            }
        }
    }
}
