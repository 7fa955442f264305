// A local S3-compatible server (s3rver, from npm, installed by scripts/setup.sh into .deps/node) holding the model bucket,
// seeded from a local model tree, handed to services as ConnectionStrings__{name} = s3://bucket?endpoint=….
using System.Globalization;
using Engine.Bucket;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AppHost.Resources;

public sealed class S3ServerResource(string name, string command, string dataDirectory, string bucket)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    /// <summary>s3rver's fixed key pair: it accepts requests signed with it and nothing else.</summary>
    public const string AccessKey = "S3RVER";

    public const string EndpointName = "http";

    public string Bucket { get; } = bucket;

    public EndpointReference PrimaryEndpoint => field ??= new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"s3://{Bucket}?endpoint=http://127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)}&accessKey={AccessKey}&secretKey={AccessKey}");
}

public static class S3ServerResourceExtensions
{
    /// <summary>
    /// A local S3 server with one bucket, into which every version under <paramref name="seedDirectory"/> (<c>{model}/{version}/</c>)
    /// the bucket lacks is published. The resource is healthy only once seeded, so WaitFor holds the services until then.
    /// </summary>
    public static IResourceBuilder<S3ServerResource> AddS3Server(this IDistributedApplicationBuilder builder, string name, AppHostSettings settings, string seedDirectory)
    {
        var command = Prerequisites.Require(name,
            settings.Executable("s3rver", Path.Combine(Projects.RepositoryInfo.Root, ".deps", "node", "node_modules", ".bin", "s3rver")),
            "bash scripts/setup.sh (installs s3rver into .deps/node)");
        var port = PortAllocator.GetFreePort();
        var data = Directory.CreateDirectory(Path.Combine(settings.RunFolder, name)).FullName;
        var resource = new S3ServerResource(name, command, data, bucket: name);
        var healthCheck = $"{name}-seeded";
        builder.Services.AddHealthChecks().AddCheck(healthCheck, new SeededBucketHealthCheck(
            $"s3://{resource.Bucket}?endpoint=http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}&accessKey={S3ServerResource.AccessKey}&secretKey={S3ServerResource.AccessKey}",
            Path.GetFullPath(seedDirectory)));
        return builder.AddResource(resource)
            .WithEndpoint(port: port, targetPort: port, scheme: "http", name: S3ServerResource.EndpointName, isProxied: false)
            .ReleasingHeldPorts(port)
            .WithArgs("--directory", data, "--address", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture),
                "--silent", "--configure-bucket", resource.Bucket)
            .WithIconName("Archive")
            .WithHealthCheck(healthCheck);
    }
}

/// <summary>Healthy once the bucket exists and holds every seed version; seeds on the first checks (idempotent: existing versions are kept).</summary>
internal sealed class SeededBucketHealthCheck(string connectionString, string seedDirectory) : IHealthCheck
{
    private volatile bool _seeded;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            using var bucket = new S3ModelBucket(ModelBuckets.ParseS3(connectionString));
            await bucket.EnsureBucketAsync(cancellationToken);
            if (!_seeded)
            {
                if (Directory.Exists(seedDirectory))
                {
                    await ModelPublisher.SeedAsync(bucket, seedDirectory, cancellationToken);
                }
                _seeded = true;
            }
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is IOException or HttpRequestException or Amazon.Runtime.AmazonServiceException)
        {
            return HealthCheckResult.Unhealthy($"bucket not reachable or not seeded yet: {e.Message}");
        }
    }
}
