namespace Contracts.Jobs;

/// <summary>
/// Names of the RabbitMQ topology and of the AMQP headers a job message carries. The message body is
/// the job's input as submitted (image bytes or an OIP JSON request); everything else rides in headers
/// so neither side copies or re-encodes the input.
/// </summary>
public static class JobQueues
{
    /// <summary>Direct exchange; routing key = model name.</summary>
    public const string Exchange = "jobs";

    public const string DeadLetterExchange = "jobs.dlx";

    public const string DeadLetterQueue = "jobs.dead";

    public static string ForModel(string model) => $"jobs.{model}";

    public const string JobIdHeader = "job-id";
    public const string ModelHeader = "model";
    public const string DeadlineHeader = "deadline-ms";
    public const string AcceptedHeader = "accepted-ms";
    public const string InputKindHeader = "input-kind";
    public const string TraceParentHeader = "traceparent";

    /// <summary>How many times a never-started job came back from the dead-letter queue to its model's queue.</summary>
    public const string ReturnedHeader = "returned";

    /// <summary>Set by quorum queues on redelivery.</summary>
    public const string DeliveryCountHeader = "x-delivery-count";
}

/// <summary>What the message body holds.</summary>
public static class InputKinds
{
    public const string Image = "image";
    public const string Tensor = "tensor";
}
