using Contracts;
using Contracts.Models;
using StackExchange.Redis;

namespace Worker.Heartbeats;

/// <summary>
/// Listens on <c>worker:{instance}:command</c>. "drain" stops the host gracefully: the consumer stops taking jobs,
/// the batch in hand finishes, unacked messages go back to the queue, and the process exits 0 for its supervisor
/// (the AppHost, Kubernetes, Container Apps) to start it again with the desired model versions.
/// </summary>
public sealed partial class WorkerCommands(
    IConnectionMultiplexer redis, ServiceIdentity identity, IHostApplicationLifetime lifetime, ILogger<WorkerCommands> log)
    : IHostedService
{
    private readonly RedisChannel _channel = new(RedisKeys.WorkerCommand(identity.InstanceId), RedisChannel.PatternMode.Literal);

    public Task StartAsync(CancellationToken cancellationToken) =>
        redis.GetSubscriber().SubscribeAsync(_channel, (_, command) =>
        {
            if (command == WorkerCommandNames.Drain)
            {
                LogDraining(identity.InstanceId);
                lifetime.StopApplication();
            }
        });

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await redis.GetSubscriber().UnsubscribeAsync(_channel);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The connection closes with the process anyway.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain requested for {Instance}: finishing the batch in hand and exiting")]
    private partial void LogDraining(string instance);
}
