using System.Diagnostics;
using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace ServiceDefaults.Push;

public static class JobPushExtensions
{
    /// <summary>
    /// SignalR with its Redis backplane, on the process's own Redis connection (Aspire's <c>AddRedisClient("cache")</c>):
    /// the gateways hold the hub connections, and any service that changes a job (a worker finishing it, a gateway
    /// cancelling or expiring it) pushes the new state to the connections following it through the backplane.
    /// </summary>
    public static ISignalRServerBuilder AddJobPush(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<JobPush>();
        builder.Services.AddOptions<RedisOptions>()
            .Configure<IConnectionMultiplexer>((o, redis) => o.ConnectionFactory = _ => Task.FromResult(redis));
        // A message sent through the backplane carries one serialization per protocol the sender knows; a gateway holding
        // a MessagePack connection needs that one, so every sender registers every protocol the gateways offer.
        return builder.Services.AddSignalR()
            .AddInferenceHubProtocols()
            .AddStackExchangeRedis();
    }
}

/// <summary>
/// Sends a job's new state to the hub connections that follow it (<see cref="JobStore"/> calls it after each change it
/// applied). Through the backplane each follower costs one PUBLISH on its connection's channel, heard only by the gateway
/// replica holding that connection. Pushing a job's final state is a span of the job's trace (its context rides on the record).
/// </summary>
public sealed partial class JobPush(IHubContext<InferenceHub, IInferenceClient> hub, ILogger<JobPush> log)
{
    private static readonly ActivitySource Source = new("Aspire.Inference.Push");

    /// <summary>Returns whether the update went out (false: Redis refused it; the state is stored and its push still owed).</summary>
    public async Task<bool> PushAsync(JobRecord record, IReadOnlyList<string> connections)
    {
        if (connections.Count == 0)
        {
            return true;
        }
        using var span = StartPushSpan(record, connections.Count, waiting: false);
        try
        {
            await hub.Clients.Clients(connections).JobUpdated(record);
            return true;
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            // The state is stored: push recovery sends a final state again; a client that reconnects (or is told to
            // resync) reads it when it subscribes again.
            span?.SetStatus(ActivityStatusCode.Error, e.Message);
            LogPushFailed(record.Id, e.Message);
            return false;
        }
    }

    /// <summary>
    /// A "push job update" span, child of the job's "submit job" span, when a final state is delivered: to hub connections
    /// (here) or to HTTP requests waiting on a gateway (its waiters call this).
    /// </summary>
    public static Activity? StartPushSpan(JobRecord record, int connections, bool waiting)
    {
        if (!record.IsTerminal || record.TraceParent is null || !Source.HasListeners()
            || !ActivityContext.TryParse(record.TraceParent, null, isRemote: true, out var parent))
        {
            return null;
        }
        var span = Source.StartActivity("push job update", ActivityKind.Producer, parent);
        span?.SetTag("job.id", record.Id);
        span?.SetTag("job.status", record.Status.ToWire());
        span?.SetTag("push.connections", connections);
        span?.SetTag("push.waiters", waiting);
        return span;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pushing the update of job {JobId} failed: {Reason}")]
    private partial void LogPushFailed(string jobId, string reason);
}
