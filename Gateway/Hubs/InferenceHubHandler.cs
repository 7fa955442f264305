using System.Collections.Concurrent;
using Contracts.Jobs;
using Gateway.Accounts;
using Gateway.Jobs;
using Microsoft.AspNetCore.SignalR;
using ServiceDefaults.Jobs;
using ServiceDefaults.Push;
using StackExchange.Redis;

namespace Gateway.Hubs;

/// <summary>
/// What <see cref="InferenceHub"/> (<c>/hubs/inference</c>) does on this gateway. Errors are <see cref="HubException"/>s
/// carrying the same stable code as the REST API's problem+json; SignalR frames the message as
/// <c>An unexpected error occurred invoking 'Submit' on the server. HubException: model_not_found: …</c>,
/// so clients read the code after "HubException: ". Pushes come from whoever changes a job, through the backplane.
/// </summary>
public sealed class InferenceHubHandler(JobSubmitter submitter, JobCanceller canceller, JobStore store) : IInferenceHubHandler
{
    private readonly ConcurrentDictionary<string, byte> _connections = new(StringComparer.Ordinal);

    /// <summary>The hub connections this replica holds.</summary>
    public ICollection<string> Connections => _connections.Keys;

    public async Task<string> SubmitAsync(HubCallerContext caller, string model, byte[] input, SubmitOptions? options)
    {
        var record = await Guard(() => submitter.SubmitAsync(model ?? "", input ?? [], options, owner: caller.User.Owner(), caller.ConnectionAborted,
            follower: JobStore.ConnectionFollower(caller.ConnectionId)));
        return record.Id;
    }

    public async Task<JobRecord> SubscribeAsync(HubCallerContext caller, string jobId)
    {
        RequireValidId(jobId);
        // Ownership is checked before following: a connection must never be pushed another account's job.
        return await Guard(async () => JobOwnership.Visible(await store.GetAsync(jobId), caller.User.Owner()) is null
                ? null
                : await store.FollowAsync(jobId, JobStore.ConnectionFollower(caller.ConnectionId)))
            ?? throw new HubException($"{ProblemCodes.JobNotFound}: There is no job '{jobId}' (it may have expired).");
    }

    public async Task<JobRecord> CancelAsync(HubCallerContext caller, string jobId)
    {
        RequireValidId(jobId);
        var (record, _) = await Guard(() => canceller.CancelAsync(jobId, caller.User.Owner()));
        return record ?? throw new HubException($"{ProblemCodes.JobNotFound}: There is no job '{jobId}'.");
    }

    public void Connected(HubCallerContext caller) => _connections.TryAdd(caller.ConnectionId, 0);

    public void Disconnected(HubCallerContext caller) => _connections.TryRemove(caller.ConnectionId, out _);

    private static void RequireValidId(string jobId)
    {
        if (jobId is null || !JobIds.IsValid(jobId))
        {
            throw new HubException($"{ProblemCodes.InvalidJobId}: A job id is 32 lower-case hex digits.");
        }
    }

    private static async Task<T> Guard<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (SubmissionException e)
        {
            throw new HubException($"{e.Code}: {e.Message}");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            throw new HubException($"{ProblemCodes.StoreUnavailable}: The job store is unavailable; retry shortly.");
        }
    }
}
