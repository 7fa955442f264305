using AppHost.Hosting;

namespace AppHost;

/// <summary>Knobs of the Aspire.Inference graph, bound from the command line (<c>--workers 3</c>) and environment.</summary>
public sealed class AppModelOptions
{
    public int Workers { get; set; } = 2;

    public int Gateways { get; set; } = 1;

    /// <summary>Port of the first gateway; 0 picks a free one (tests).</summary>
    public int GatewayPort { get; set; } = 8080;

    /// <summary>The model bucket (<c>ConnectionStrings__models</c>): a directory, by default the repository's <c>models/</c>.
    /// With the S3 backend, the tree the S3 bucket is seeded from.</summary>
    public string? Models { get; set; }

    /// <summary>Where the model bucket lives: <c>local</c> (the <see cref="Models"/> directory) or <c>s3</c> (a local S3 server, s3rver).</summary>
    public string ModelBucket { get; set; } = "local";

    /// <summary>Key of ModelSync's admin API (header X-Admin-Key); a fresh random one per run unless given.</summary>
    public string AdminKey { get; set; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>Extra environment for every service (e.g. <c>Jobs__DeliveryLimit</c> in tests).</summary>
    public Dictionary<string, string> ServiceEnvironment { get; } = new(StringComparer.Ordinal);
}

/// <summary>The application graph, shared by <c>dotnet run --project AppHost</c> and the test fixture.</summary>
public static class AppModel
{
    /// <summary>Most workers the dashboard scales up to (one machine: more replicas than cores only compete).</summary>
    public const int MaxWorkers = 8;

    public static DistributedApplicationBuilder Configure(DistributedApplicationBuilder builder, AppModelOptions options)
    {
        if (options.Workers < 1 || options.Gateways < 1)
        {
            throw new ArgumentException("--workers and --gateways take a number of at least 1.");
        }

        var cache = builder.AddRedis("cache");
        var messaging = builder.AddRabbitMQ("messaging");
        var modelTree = options.Models ?? Path.Combine(Projects.RepositoryInfo.Root, "models");
        IResourceBuilder<IResourceWithConnectionString> models;
        IResourceBuilder<IResource>? bucketServer = null;
        switch (options.ModelBucket.ToLowerInvariant())
        {
            case "local":
                models = builder.AddConnectionString("models", modelTree);
                break;
            case "s3":
                var s3 = builder.AddS3Bucket("models").WithSeedData(modelTree);
                models = s3;
                bucketServer = s3;
                break;
            default:
                throw new ArgumentException($"--bucket takes 'local' or 's3', not '{options.ModelBucket}'.");
        }

        var modelsync = builder.AddProject<Projects.ModelSync>("modelsync")
            .WithReference(cache).WithReference(messaging).WithReference(models)
            .WithEnvironment("ModelSync__AdminKey", options.AdminKey)
            .WaitFor(cache).WaitFor(messaging);

        // Replicas share one cache of fetched versions under the run folder (each file checked against its sha256 once).
        var worker = builder.AddProject<Projects.Worker>("worker")
            .WithReference(cache).WithReference(messaging).WithReference(models)
            .WithEnvironment("Worker__CacheDirectory", Path.Combine(builder.Options.RunDirectory, "worker-model-cache"))
            .WaitFor(cache).WaitFor(messaging)
            .WithReplicas(options.Workers)
            .WithScaling(maxReplicas: Math.Max(MaxWorkers, options.Workers)); // dashboard +/−

        // The gateway learns the models from what ModelSync publishes in Redis: it needs no access to the bucket.
        var gateway = builder.AddProject<Projects.Gateway>("gateway")
            .WithHttpEndpoint(options.GatewayPort)
            .WithReference(cache).WithReference(messaging)
            .WaitFor(cache).WaitFor(messaging)
            .WithReplicas(options.Gateways);

        if (bucketServer is not null)
        {
            modelsync.WaitFor(bucketServer);
            worker.WaitFor(bucketServer);
        }

        foreach (var (name, value) in options.ServiceEnvironment)
        {
            modelsync.WithEnvironment(name, value);
            worker.WithEnvironment(name, value);
            gateway.WithEnvironment(name, value);
        }
        return builder;
    }
}
