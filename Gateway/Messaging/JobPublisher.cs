using System.Threading.Channels;
using Contracts.Jobs;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using ServiceDefaults.Jobs;
using ServiceDefaults.Messaging;

namespace Gateway.Messaging;

/// <summary>Why a publish was not confirmed.</summary>
public enum PublishOutcome
{
    Confirmed,

    /// <summary>The model's queue is at its length cap (reject-publish): tell the client to retry later.</summary>
    QueueFull,

    /// <summary>The broker is unreachable or the channel broke: retryable.</summary>
    Unavailable,
}

/// <summary>
/// Publishes jobs with publisher confirms through a small pool of channels, one publish per channel
/// at a time (RabbitMQ.Client 7.1.2 must not publish concurrently on one channel, and a publish is
/// never cancelled by a token because that corrupts the channel's confirm state).
/// </summary>
public sealed partial class JobPublisher(IConnection connection, IOptions<JobQueueOptions> queueOptions, ILogger<JobPublisher> log)
    : IAsyncDisposable
{
    private const int PoolSize = 16;
    private readonly Channel<IChannel> _idle = Channel.CreateBounded<IChannel>(PoolSize);
    private readonly SemaphoreSlim _slots = new(PoolSize, PoolSize);
    private readonly HashSet<string> _declaredModels = [];
    private readonly SemaphoreSlim _declareGate = new(1, 1);
    private bool _commonDeclared;

    public async Task<PublishOutcome> PublishAsync(string model, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        IChannel? channel = null;
        try
        {
            channel = _idle.Reader.TryRead(out var pooled) && pooled.IsOpen ? pooled : await OpenChannelAsync(cancellationToken);
            await EnsureTopologyAsync(channel, model, cancellationToken);
            await channel.BasicPublishAsync(JobQueues.Exchange, model, mandatory: true, properties, body, CancellationToken.None);
            return PublishOutcome.Confirmed;
        }
        catch (PublishException e) when (!e.IsReturn)
        {
            // A nack: with reject-publish this is the length cap.
            return PublishOutcome.QueueFull;
        }
        catch (Exception e) when (e is PublishException or BrokerUnreachableException or AlreadyClosedException
            or OperationInterruptedException or IOException or TimeoutException)
        {
            LogPublishFailed(model, e.Message);
            channel = await DiscardAsync(channel);
            return PublishOutcome.Unavailable;
        }
        finally
        {
            if (channel is { IsOpen: true } && !_idle.Writer.TryWrite(channel))
            {
                await channel.DisposeAsync();
            }
            _slots.Release();
        }
    }

    /// <summary>Declares the queue of a model ahead of the first job (e.g. at start-up for every known model).</summary>
    public async Task DeclareModelAsync(string model, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await EnsureTopologyAsync(channel, model, cancellationToken);
    }

    private async Task EnsureTopologyAsync(IChannel channel, string model, CancellationToken cancellationToken)
    {
        lock (_declaredModels)
        {
            if (_commonDeclared && _declaredModels.Contains(model))
            {
                return;
            }
        }
        await _declareGate.WaitAsync(cancellationToken);
        try
        {
            if (!_commonDeclared)
            {
                await JobTopology.DeclareCommonAsync(channel, cancellationToken);
                _commonDeclared = true;
            }
            await JobTopology.DeclareModelAsync(channel, model, queueOptions.Value, cancellationToken);
            lock (_declaredModels)
            {
                _declaredModels.Add(model);
            }
        }
        finally
        {
            _declareGate.Release();
        }
    }

    private async Task<IChannel> OpenChannelAsync(CancellationToken cancellationToken)
    {
        return await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            cancellationToken);
    }

    private static async Task<IChannel?> DiscardAsync(IChannel? channel)
    {
        if (channel is not null)
        {
            try
            {
                await channel.DisposeAsync();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Already broken; nothing to save.
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        while (_idle.Reader.TryRead(out var channel))
        {
            await DiscardAsync(channel);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing a job for {Model} failed: {Reason}")]
    private partial void LogPublishFailed(string model, string reason);
}
