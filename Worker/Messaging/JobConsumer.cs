using System.Text;
using Contracts.Jobs;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using ServiceDefaults.Jobs;
using ServiceDefaults.Messaging;
using ServiceDefaults.Telemetry;
using Worker.Batching;
using Worker.Inference;

namespace Worker.Messaging;

/// <summary>
/// Consumes each served model's queue (manual acks, prefetch 3 × max batch) into its batcher, and the
/// dead-letter queue into failed records. On SIGTERM: stop consuming, finish the batch in hand, and
/// let the broker requeue the rest when the channels close.
/// </summary>
public sealed partial class JobConsumer(
    IConnection connection,
    ModelHost models,
    JobStore store,
    WorkerStats stats,
    InferenceMetrics metrics,
    IOptions<JobQueueOptions> queueOptions,
    IOptions<WorkerOptions> workerOptions,
    TimeProvider time,
    ILoggerFactory loggers,
    ILogger<JobConsumer> log) : BackgroundService
{
    private readonly List<(IChannel Channel, string Tag)> _consumers = [];
    private readonly List<Task> _batchers = [];
    private readonly CancellationTokenSource _stopBatching = new();
    private IChannel? _returns;

    public bool IsConsuming { get; private set; }

    private readonly List<(string Model, ModelBatcher Batcher)> _models = [];

    /// <summary>
    /// Per model, the jobs this worker holds: delivered by RabbitMQ and not yet acknowledged (prefetched, batching or
    /// running). ModelSync adds them to the queue's ready count, which is what KEDA's RabbitMQ scaler reads (ready +
    /// unacknowledged) from the management API.
    /// </summary>
    public IEnumerable<(string Model, long Held)> Held
    {
        get
        {
            lock (_models)
            {
                return [.. _models.Select(m => (m.Model, m.Batcher.Pending))];
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield(); // load models off the host's start-up path
        await models.LoadAsync(stoppingToken);
        var computeGate = new SemaphoreSlim(workerOptions.Value.ConcurrentBatches);

        await using (var setup = await connection.CreateChannelAsync(cancellationToken: stoppingToken))
        {
            await JobTopology.DeclareCommonAsync(setup, stoppingToken);
            foreach (var runner in models.Runners)
            {
                await JobTopology.DeclareModelAsync(setup, runner.Model, queueOptions.Value, stoppingToken);
            }
        }

        foreach (var runner in models.Runners)
        {
            var batcher = new ModelBatcher(runner, store, stats, metrics, computeGate, time, loggers.CreateLogger<ModelBatcher>());
            metrics.ObservePending(runner.Model, () => batcher.Pending);
            lock (_models)
            {
                _models.Add((runner.Model, batcher));
            }
            _batchers.Add(Task.Run(() => batcher.RunAsync(_stopBatching.Token), CancellationToken.None));
            var channel = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
            // The batches in flight, and one more batch waiting: the next batch can be full when a slot frees up.
            await channel.BasicQosAsync(0, (ushort)Math.Min(ushort.MaxValue, (ModelBatcher.InFlightBatches + 1) * runner.MaxBatchSize), global: false, stoppingToken);
            var acks = new Acknowledger(channel);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                batcher.Enqueue(ToQueuedJob(delivery, acks));
                return Task.CompletedTask;
            };
            var tag = await channel.BasicConsumeAsync(JobQueues.ForModel(runner.Model), autoAck: false, consumer, stoppingToken);
            _consumers.Add((channel, tag));
        }

        _returns = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), stoppingToken);
        var deadLetters = await connection.CreateChannelAsync(cancellationToken: stoppingToken);
        await deadLetters.BasicQosAsync(0, 16, global: false, stoppingToken);
        var deadConsumer = new AsyncEventingBasicConsumer(deadLetters);
        deadConsumer.ReceivedAsync += (_, delivery) => FailDeadLetterAsync(deadLetters, delivery);
        _consumers.Add((deadLetters, await deadLetters.BasicConsumeAsync(JobQueues.DeadLetterQueue, autoAck: false, deadConsumer, stoppingToken)));
        IsConsuming = true;
        LogConsuming(string.Join(", ", models.Runners.Select(r => $"{r.Model} v{r.Version}")));
    }

    private readonly Lock _stopGate = new();
    private Task? _stoppedConsuming;

    /// <summary>
    /// Cancels every consumer (once; later calls wait for the same): RabbitMQ delivers this worker no further job. The
    /// heartbeat calls it before it removes this worker's heartbeat, so a worker the gateways no longer list as serving
    /// takes no more jobs either (the heartbeat stops first, being registered after this service).
    /// </summary>
    public Task StopConsumingAsync(CancellationToken cancellationToken)
    {
        lock (_stopGate)
        {
            return _stoppedConsuming ??= CancelConsumersAsync(cancellationToken);
        }
    }

    private async Task CancelConsumersAsync(CancellationToken cancellationToken)
    {
        IsConsuming = false;
        foreach (var (channel, tag) in _consumers.ToArray())
        {
            try
            {
                await channel.BasicCancelAsync(tag, noWait: false, cancellationToken);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Channel already gone: the broker requeued its jobs.
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await StopConsumingAsync(cancellationToken);
        await _stopBatching.CancelAsync();
        await Task.WhenAll(_batchers).WaitAsync(TimeSpan.FromSeconds(15), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
        foreach (var (channel, _) in _consumers)
        {
            try
            {
                await channel.CloseAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
            }
        }
        await base.StopAsync(cancellationToken);
    }

    private QueuedJob ToQueuedJob(BasicDeliverEventArgs delivery, Acknowledger acks)
    {
        var headers = delivery.BasicProperties.Headers;
        return new QueuedJob(
            HeaderString(headers, JobQueues.JobIdHeader) ?? delivery.BasicProperties.MessageId ?? "",
            HeaderString(headers, JobQueues.InputKindHeader) ?? InputKinds.Image,
            delivery.Body.ToArray(), // the client reuses its buffer after this callback
            headers is not null && headers.TryGetValue(JobQueues.DeliveryCountHeader, out var count) && count is not null ? Convert.ToInt32(count, System.Globalization.CultureInfo.InvariantCulture) : 0,
            time.GetUtcNow(),
            HeaderString(headers, JobQueues.TraceParentHeader),
            delivery.DeliveryTag,
            acks);
    }

    private async Task FailDeadLetterAsync(IChannel channel, BasicDeliverEventArgs delivery)
    {
        var id = HeaderString(delivery.BasicProperties.Headers, JobQueues.JobIdHeader) ?? delivery.BasicProperties.MessageId;
        try
        {
            var record = id is null ? null : await store.GetAsync(id);
            if (record is { Status: JobStatus.Queued, Attempts: 0, Error: null } && await ReturnAsync(delivery))
            {
                // Never started, never failed: it only came back from consumers whose connections broke (each return counts
                // as a delivery in quorum queues). The delivery limit is for jobs that fail; this one goes back to its queue.
                LogReturned(record.Id);
            }
            else if (record is { IsTerminal: false })
            {
                var reason = record.Error?.Message ?? "the worker failed while running it";
                var failed = await store.TransitionAsync(record with
                {
                    Status = JobStatus.Failed,
                    FinishedAt = time.GetUtcNow(),
                    Error = new JobError(JobErrorCodes.DeliveryLimit,
                        $"Gave up after {queueOptions.Value.DeliveryLimit + 1} attempts; last error: {reason}"),
                });
                if (failed is { Applied: true })
                {
                    // Counted here, once: the attempts before only put the job back in the queue.
                    metrics.JobFailed(record.Model, record.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", JobErrorCodes.DeliveryLimit);
                    stats.JobDeadLettered();
                }
                LogDeadLettered(record.Id, reason);
            }
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            await channel.BasicNackAsync(delivery.DeliveryTag, multiple: false, requeue: true);
        }
    }

    /// <summary>Publishes a dead-lettered job back to its model's queue (confirmed), at most <see cref="MaxReturns"/> times.</summary>
    private async Task<bool> ReturnAsync(BasicDeliverEventArgs delivery)
    {
        var headers = delivery.BasicProperties.Headers;
        var returned = headers is not null && headers.TryGetValue(JobQueues.ReturnedHeader, out var r) && r is not null
            ? Convert.ToInt32(r, System.Globalization.CultureInfo.InvariantCulture)
            : 0;
        if (returned >= MaxReturns || _returns is not { IsOpen: true } channel || HeaderString(headers, JobQueues.ModelHeader) is not { } model)
        {
            return false;
        }
        var properties = new BasicProperties(delivery.BasicProperties)
        {
            Headers = headers!.Where(h => !h.Key.StartsWith("x-", StringComparison.Ordinal))
                .ToDictionary(h => h.Key, h => h.Value),
        };
        properties.Headers[JobQueues.ReturnedHeader] = returned + 1;
        try
        {
            await channel.BasicPublishAsync(JobQueues.Exchange, model, mandatory: true, properties, delivery.Body, CancellationToken.None);
            return true;
        }
        catch (Exception e) when (e is RabbitMQ.Client.Exceptions.PublishException or RabbitMQ.Client.Exceptions.AlreadyClosedException
            or RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return false; // the queue is full or the broker is away: fail it with the reason below rather than hold it
        }
    }

    private const int MaxReturns = 5;

    private static string? HeaderString(IDictionary<string, object?>? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? value switch
        {
            byte[] bytes => Encoding.UTF8.GetString(bytes),
            string s => s,
            null => null,
            var other => other.ToString(),
        } : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Consuming jobs for {Models}")]
    private partial void LogConsuming(string models);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} reached the delivery limit without ever starting (broken consumer connections); returned to its queue")]
    private partial void LogReturned(string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} reached the delivery limit and failed: {Reason}")]
    private partial void LogDeadLettered(string jobId, string reason);
}
