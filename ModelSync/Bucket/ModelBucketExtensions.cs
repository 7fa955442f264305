using Microsoft.Extensions.Diagnostics.HealthChecks;
using ServiceDefaults.Caching;

namespace ModelSync.Bucket;

public static class ModelBucketExtensions
{
    /// <summary>The model bucket from <c>ConnectionStrings__models</c>: a directory path (S3 arrives with the ModelSync issue).</summary>
    public static IHostApplicationBuilder AddModelBucket(this IHostApplicationBuilder builder, string connectionName)
    {
        var location = builder.Configuration.GetRequiredConnectionString(connectionName, "the model bucket (a directory path)");
        builder.Services.AddHealthChecks().AddCheck(connectionName, () => Directory.Exists(location)
            ? HealthCheckResult.Healthy($"bucket {location}")
            : HealthCheckResult.Unhealthy($"model bucket directory {location} does not exist"));
        return builder;
    }
}
