using Contracts.Jobs;
using Gateway.Jobs;
using Microsoft.AspNetCore.SignalR;
using ServiceDefaults.Jobs;
using StackExchange.Redis;

namespace Gateway.Hubs;

/// <summary>What the server calls on clients.</summary>
public interface IInferenceClient
{
    /// <summary>Sent on every state change of a followed job; the terminal one carries output or error and timings.</summary>
    Task JobUpdated(JobRecord update);
}

/// <summary>
/// The SignalR hub at <c>/hubs/inference</c>. Errors are <see cref="HubException"/>s carrying the same
/// stable code as the REST API's problem+json; SignalR frames the message as
/// <c>An unexpected error occurred invoking 'Submit' on the server. HubException: model_not_found: …</c>,
/// so clients read the code after "HubException: ".
/// </summary>
public sealed class InferenceHub(
    JobSubmitter submitter,
    JobCanceller canceller,
    JobStore store,
    JobSubscriptions subscriptions,
    JobUpdateRelay relay) : Hub<IInferenceClient>
{
    /// <summary>Queues a job and follows it for the caller; returns the job id once the broker confirmed it.</summary>
    public async Task<string> Submit(string model, byte[] input, SubmitOptions? options)
    {
        var connectionId = Context.ConnectionId;
        var record = await Guard(() => submitter.SubmitAsync(model ?? "", input ?? [], options, owner: null, Context.ConnectionAborted,
            beforePublish: r =>
            {
                if (!subscriptions.Add(connectionId, r.Id))
                {
                    throw new SubmissionException(429, ProblemCodes.TooManySubscriptions,
                        $"This connection already follows {JobSubscriptions.MaxPerConnection} jobs.");
                }
            }));
        await relay.DeliverAsync(record);
        return record.Id;
    }

    /// <summary>Follows a job (also one submitted elsewhere or before a reconnect); returns its current state and pushes what follows.</summary>
    public async Task<JobRecord> Subscribe(string jobId)
    {
        RequireValidId(jobId);
        if (!subscriptions.Add(Context.ConnectionId, jobId))
        {
            throw new HubException($"{ProblemCodes.TooManySubscriptions}: This connection already follows {JobSubscriptions.MaxPerConnection} jobs.");
        }
        // Subscribed first, read second: a result stored in between arrives as a notice, one stored before is read here.
        var record = await Guard(() => store.GetAsync(jobId));
        if (record is null)
        {
            subscriptions.RemoveConnection(Context.ConnectionId); // cheap: rebuilt from the rest on the next Add
            throw new HubException($"{ProblemCodes.JobNotFound}: There is no job '{jobId}' (it may have expired).");
        }
        await relay.DeliverAsync(record);
        return record;
    }

    /// <summary>Cancels a job that has not finished; returns its state afterwards.</summary>
    public async Task<JobRecord> Cancel(string jobId)
    {
        RequireValidId(jobId);
        var (record, _) = await Guard(() => canceller.CancelAsync(jobId));
        return record ?? throw new HubException($"{ProblemCodes.JobNotFound}: There is no job '{jobId}'.");
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        subscriptions.RemoveConnection(Context.ConnectionId);
        return Task.CompletedTask;
    }

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
