namespace AppHost.Resources;

public static class ModelBucketExtensions
{
    /// <summary>
    /// The model bucket services get as <c>ConnectionStrings__{name}</c>: the model tree itself (a directory), or with
    /// <c>--bucket s3</c> a local S3 server (s3rver), with <c>--bucket azure</c> a local Azure Blob server (azurite), seeded
    /// from it. In publish mode a connection string the deployment supplies.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddModelBucket(this IDistributedApplicationBuilder builder, string name, AppHostSettings settings)
    {
        if (builder.ExecutionContext.IsRunMode && settings.ModelBucket.Equals("s3", StringComparison.OrdinalIgnoreCase))
        {
            return builder.AddS3Server(name, settings, settings.ModelTree);
        }
        if (builder.ExecutionContext.IsRunMode && settings.ModelBucket.Equals("azure", StringComparison.OrdinalIgnoreCase))
        {
            return builder.AddAzurite(name, settings, settings.ModelTree);
        }
        if (builder.ExecutionContext.IsRunMode)
        {
            builder.Configuration[$"ConnectionStrings:{name}"] ??= settings.ModelTree;
        }
        return builder.AddConnectionString(name);
    }
}
