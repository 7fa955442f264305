using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServiceDefaults.Configuration;
using ServiceDefaults.Jobs;
using ServiceDefaults.Push;
using Worker.Batching;
using Worker.Inference;

namespace Worker.Messaging;

public static class WorkerPipelineExtensions
{
    /// <summary>The models this replica serves and the consumer that feeds their batchers.</summary>
    public static IHostApplicationBuilder AddJobProcessing(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<WorkerOptions>(builder.Configuration.GetSection(WorkerOptions.Section));
        builder.Services.Configure<JobQueueOptions>(builder.Configuration.GetSection(JobQueueOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<JobStore>();
        builder.AddJobPush(); // results go straight to the hub connections following them, through SignalR's Redis backplane
        builder.Services.AddSingleton<WorkerStats>();
        builder.Services.AddSingleton(Engine.Bucket.ModelBuckets.Open(
            builder.Configuration.GetRequiredConnectionString("models", Engine.Bucket.ModelBuckets.Description)));
        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddSingleton<JobConsumer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobConsumer>());
        // Ready only once the models are loaded and the queues are consumed.
        builder.Services.AddHealthChecks()
            .AddCheck<ConsumingHealthCheck>("consuming")
            .AddCheck<HangHealthCheck>("not-hung", tags: [ServiceDefaultsExtensions.LiveTag]);
        return builder;
    }
}

internal sealed class ConsumingHealthCheck(JobConsumer consumer, ModelHost models) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(consumer.IsConsuming
            ? HealthCheckResult.Healthy($"consuming {string.Join(", ", models.Runners.Select(r => $"{r.Model} v{r.Version}"))}")
            : HealthCheckResult.Unhealthy("models not loaded or queues not consumed yet"));
}

/// <summary>Live unless a batch has been inside a model for longer than <see cref="WorkerOptions.HangTimeout"/>.</summary>
internal sealed class HangHealthCheck(WorkerStats stats, Microsoft.Extensions.Options.IOptions<WorkerOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var longest = stats.LongestCompute;
        return Task.FromResult(longest > options.Value.HangTimeout
            ? HealthCheckResult.Unhealthy($"a batch has been computing for {longest.TotalSeconds:0} s (Worker:HangTimeout is {options.Value.HangTimeout.TotalSeconds:0} s)")
            : HealthCheckResult.Healthy());
    }
}
