using RabbitMQ.Client;

namespace Worker.Batching;

/// <summary>A delivered job waiting in a batcher: the message (copied out of the client's buffer) and where to ack it.</summary>
public sealed record QueuedJob(
    string JobId,
    string Kind,
    byte[] Body,
    int DeliveryCount,
    DateTimeOffset ReceivedAt,
    string? TraceParent,
    ulong DeliveryTag,
    Acknowledger Acks);

/// <summary>Acks and nacks on one channel, one at a time (the client must not be used concurrently for them).</summary>
public sealed class Acknowledger(IChannel channel)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IChannel Channel { get; } = channel;

    public Task AckAsync(ulong tag) => Do(c => c.BasicAckAsync(tag, multiple: false));

    /// <summary>Returns the job to the queue; the broker counts the delivery and dead-letters past the limit.</summary>
    public Task RequeueAsync(ulong tag) => Do(c => c.BasicNackAsync(tag, multiple: false, requeue: true));

    /// <summary>
    /// Settles a whole batch in few frames: each job to requeue is nacked alone first, then one ack with
    /// <c>multiple</c> covers the rest. That single ack is exact only because the channel's one batcher settles every
    /// job of a batch here, batches in delivery order: when it runs, every earlier delivery on the channel is already
    /// settled, so "everything up to the highest tag" is precisely this batch's acks.
    /// </summary>
    public Task SettleAsync(IReadOnlyList<ulong> acks, IReadOnlyList<ulong> requeues) => Do(async c =>
    {
        foreach (var tag in requeues)
        {
            await c.BasicNackAsync(tag, multiple: false, requeue: true);
        }
        if (acks.Count > 0)
        {
            await c.BasicAckAsync(acks.Max(), multiple: true);
        }
    });

    private async Task Do(Func<IChannel, ValueTask> action)
    {
        await _gate.WaitAsync();
        try
        {
            if (Channel.IsOpen)
            {
                await action(Channel);
            }
            // A closed channel already returned its unacked jobs to the queue; they come back as redeliveries.
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.AlreadyClosedException or ObjectDisposedException)
        {
        }
        finally
        {
            _gate.Release();
        }
    }
}
