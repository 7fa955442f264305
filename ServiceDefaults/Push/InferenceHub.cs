using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR;
using ServiceDefaults.Jobs;

namespace ServiceDefaults.Push;

/// <summary>What the server calls on clients of <see cref="InferenceHub"/>.</summary>
public interface IInferenceClient
{
    /// <summary>Sent on every state change of a followed job; the terminal one carries output or error and timings.</summary>
    Task JobUpdated(JobRecord update);

    /// <summary>
    /// Sent when this gateway may have missed pushes (its Redis subscription was down): the client subscribes again to the
    /// jobs it still waits for, and gets their current states back.
    /// </summary>
    Task Resync();
}

/// <summary>What the gateway does behind each hub method (the gateway registers it; the hub type itself is shared).</summary>
public interface IInferenceHubHandler
{
    Task<string> SubmitAsync(HubCallerContext caller, string model, byte[] input, SubmitOptions? options);

    Task<JobRecord> SubscribeAsync(HubCallerContext caller, string jobId);

    Task<JobRecord> CancelAsync(HubCallerContext caller, string jobId);

    void Connected(HubCallerContext caller);

    void Disconnected(HubCallerContext caller);
}

/// <summary>
/// The SignalR hub at <c>/hubs/inference</c>, mapped by the gateway. It lives here, not in the gateway, because SignalR's
/// Redis backplane names its channels after the hub's full type name: a worker that finishes a job pushes the update
/// through <c>IHubContext&lt;InferenceHub, IInferenceClient&gt;</c> straight to the connections following it, on whichever
/// gateway replica holds them.
/// </summary>
public sealed class InferenceHub(IInferenceHubHandler handler) : Hub<IInferenceClient>
{
    /// <summary>Queues a job and follows it for the caller; returns the job id once the broker confirmed it.</summary>
    public Task<string> Submit(string model, byte[] input, SubmitOptions? options) => handler.SubmitAsync(Context, model, input, options);

    /// <summary>
    /// Follows a job (also one submitted elsewhere or before a reconnect) and returns its current state; the states that
    /// follow are pushed. Following and reading are one step in Redis, so each later state reaches the caller exactly once.
    /// </summary>
    public Task<JobRecord> Subscribe(string jobId) => handler.SubscribeAsync(Context, jobId);

    /// <summary>Cancels a job that has not finished; returns its state afterwards.</summary>
    public Task<JobRecord> Cancel(string jobId) => handler.CancelAsync(Context, jobId);

    public override Task OnConnectedAsync()
    {
        handler.Connected(Context);
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        handler.Disconnected(Context);
        return Task.CompletedTask;
    }
}
