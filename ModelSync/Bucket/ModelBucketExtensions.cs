using Engine.Bucket;
using Engine.Inference;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ServiceDefaults.Configuration;

namespace ModelSync.Bucket;

/// <summary>ModelSync settings, bound from the "ModelSync" section.</summary>
public sealed class ModelSyncOptions
{
    public const string Section = "ModelSync";

    /// <summary>How often the bucket is listed; a published version is noticed within one interval.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a drained worker has to come back ready with the new version before the rollout is rolled back.</summary>
    public TimeSpan RolloutTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Key for the admin API (header X-Admin-Key); the admin API is disabled without one.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Where versions are copied for validation; a private temporary directory when empty.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>How many workers a rollout drains at once (each waits for its replacement before the next goes).</summary>
    public int MaxUnavailable { get; set; } = 1;
}

public static class ModelBucketExtensions
{
    /// <summary>The model bucket from <c>ConnectionStrings__models</c> (a directory, an s3:// URL or an Azure Storage connection string), its local cache and the validator.</summary>
    public static IHostApplicationBuilder AddModelBucket(this IHostApplicationBuilder builder, string connectionName)
    {
        var location = builder.Configuration.GetRequiredConnectionString(connectionName, ModelBuckets.Description);
        builder.Services.Configure<ModelSyncOptions>(builder.Configuration.GetSection(ModelSyncOptions.Section));
        builder.Services.AddSingleton(ModelBuckets.Open(location));
        builder.Services.AddSingleton(sp =>
        {
            var configured = sp.GetRequiredService<IOptions<ModelSyncOptions>>().Value.CacheDirectory;
            // Private per process by default: two systems on one machine may hold different bytes under one name/version.
            return string.IsNullOrWhiteSpace(configured)
                ? new ModelCache(sp.GetRequiredService<IModelBucket>(), Directory.CreateTempSubdirectory("modelsync-cache-").FullName, ownsDirectory: true)
                : new ModelCache(sp.GetRequiredService<IModelBucket>(), configured);
        });
        builder.Services.AddSingleton(sp => new ModelVersionValidator(sp.GetRequiredService<ModelCache>(), new RunnerOptions()));
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            connectionName, sp => new BucketHealthCheck(sp.GetRequiredService<IModelBucket>()), failureStatus: null, tags: null));
        return builder;
    }
}

/// <summary>Healthy while the bucket can be listed (a directory that exists, an S3 bucket or Azure container that answers).</summary>
internal sealed class BucketHealthCheck(IModelBucket bucket) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (bucket is LocalModelBucket local && !Directory.Exists(local.Root))
        {
            return HealthCheckResult.Unhealthy($"model bucket directory {local.Root} does not exist");
        }

        try
        {
            var models = await bucket.ListModelsAsync(cancellationToken);
            return HealthCheckResult.Healthy($"bucket {bucket.Location}: {models.Count} model(s)");
        }
        catch (IOException e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
