using Contracts.Jobs;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace ModelSync.Admin;

/// <summary>
/// Jobs ready in a model's queue, asked of RabbitMQ with a passive declare (AMQP tells only the ready count; the
/// unacknowledged ones are the workers' to report). One channel, reopened after RabbitMQ closed it — as it does when a
/// queue does not exist yet (404).
/// </summary>
public sealed class JobQueueDepth(IConnection connection) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private IChannel? _channel;

    /// <summary>The ready count of <paramref name="model"/>'s queue; null when there is no such queue or RabbitMQ cannot be asked.</summary>
    public async Task<long?> ReadyAsync(string model, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_channel is not { IsOpen: true })
            {
                if (_channel is not null)
                {
                    await _channel.DisposeAsync();
                }
                _channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            }
            return (await _channel.QueueDeclarePassiveAsync(JobQueues.ForModel(model), cancellationToken)).MessageCount;
        }
        catch (Exception e) when (e is OperationInterruptedException or AlreadyClosedException or BrokerUnreachableException or IOException or TimeoutException)
        {
            return null;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is not null)
        {
            await _channel.DisposeAsync();
        }
        _gate.Dispose();
    }
}
