using Contracts.Jobs;
using RabbitMQ.Client;

namespace ServiceDefaults.Jobs;

/// <summary>Queue settings every service declares identically (RabbitMQ refuses mismatched redeclarations).</summary>
public sealed class JobQueueOptions
{
    public const string Section = "Jobs";

    /// <summary>Deliveries of one job before it is dead-lettered and failed.</summary>
    public int DeliveryLimit { get; set; } = 3;

    /// <summary>Jobs waiting per model before publishes are refused (429).</summary>
    public int MaxQueueLength { get; set; } = 10_000;

    /// <summary>How long job records stay in Redis.</summary>
    public TimeSpan RecordTtl { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>
/// Declares the job topology idempotently, whichever service starts first: a direct exchange keyed by
/// model, one durable quorum queue per model with a delivery limit, a length cap that rejects publishes,
/// and dead-lettering to one queue.
/// </summary>
public static class JobTopology
{
    public static async Task DeclareCommonAsync(IChannel channel, CancellationToken cancellationToken)
    {
        await channel.ExchangeDeclareAsync(JobQueues.Exchange, ExchangeType.Direct, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.ExchangeDeclareAsync(JobQueues.DeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(JobQueues.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(JobQueues.DeadLetterQueue, JobQueues.DeadLetterExchange, "", cancellationToken: cancellationToken);
    }

    public static async Task DeclareModelAsync(IChannel channel, string model, JobQueueOptions options, CancellationToken cancellationToken)
    {
        var queue = JobQueues.ForModel(model);
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "quorum",
                ["x-delivery-limit"] = options.DeliveryLimit,
                ["x-dead-letter-exchange"] = JobQueues.DeadLetterExchange,
                ["x-max-length"] = options.MaxQueueLength,
                ["x-overflow"] = "reject-publish",
            },
            cancellationToken: cancellationToken);
        await channel.QueueBindAsync(queue, JobQueues.Exchange, model, cancellationToken: cancellationToken);
    }
}
