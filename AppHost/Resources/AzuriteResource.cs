// A local Azure Blob Storage server (azurite's blob service, from npm, installed by scripts/setup.sh into .deps/node) holding
// the model bucket, seeded from a local model tree, handed to services as ConnectionStrings__{name} = an Azure Storage
// connection string with ContainerName=.
using System.Globalization;
using Engine.Bucket;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AppHost.Resources;

public sealed class AzuriteResource(string name, string command, string dataDirectory, string container)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    /// <summary>azurite's well-known development account and key (public, documented by Microsoft; it accepts nothing else).</summary>
    public const string Account = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public const string EndpointName = "blob";

    public string Container { get; } = container;

    public EndpointReference PrimaryEndpoint => field ??= new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)}/{Account};{ModelBuckets.ContainerKey}={Container}");

    /// <summary>The same connection string for a known port (the seeding health check runs before endpoints resolve).</summary>
    public string ConnectionStringFor(int port) => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{Account};{ModelBuckets.ContainerKey}={Container}");
}

public static class AzuriteResourceExtensions
{
    /// <summary>
    /// A local Azure Blob server with one container, into which every version under <paramref name="seedDirectory"/>
    /// (<c>{model}/{version}/</c>) the container lacks is published. The resource is healthy only once seeded, so WaitFor
    /// holds the services until then.
    /// </summary>
    public static IResourceBuilder<AzuriteResource> AddAzurite(this IDistributedApplicationBuilder builder, string name, AppHostSettings settings, string seedDirectory)
    {
        var command = Prerequisites.Require(name,
            settings.Executable("azurite-blob", Path.Combine(Projects.RepositoryInfo.Root, ".deps", "node", "node_modules", ".bin", "azurite-blob")),
            "bash scripts/setup.sh (installs azurite into .deps/node)");
        var port = PortAllocator.GetFreePort();
        var data = Directory.CreateDirectory(Path.Combine(settings.RunFolder, name)).FullName;
        var resource = new AzuriteResource(name, command, data, container: name);
        var healthCheck = $"{name}-seeded";
        builder.Services.AddHealthChecks().AddCheck(healthCheck, new SeededContainerHealthCheck(resource.ConnectionStringFor(port), Path.GetFullPath(seedDirectory)));
        return builder.AddResource(resource)
            .WithEndpoint(port: port, targetPort: port, scheme: "http", name: AzuriteResource.EndpointName, isProxied: false)
            .ReleasingHeldPorts(port)
            // --skipApiVersionCheck: the SDK may speak a newer service version than this azurite release knows.
            .WithArgs("--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture), "--location", data,
                "--silent", "--skipApiVersionCheck")
            .WithIconName("Archive")
            .WithHealthCheck(healthCheck);
    }
}

/// <summary>Healthy once the container exists and holds every seed version; seeds on the first checks (idempotent: existing versions are kept).</summary>
internal sealed class SeededContainerHealthCheck(string connectionString, string seedDirectory) : IHealthCheck
{
    private volatile bool _seeded;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var bucket = new AzureBlobModelBucket(ModelBuckets.ParseAzureBlob(connectionString));
            await bucket.EnsureContainerAsync(cancellationToken);
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
        catch (Exception e) when (e is IOException or HttpRequestException or Azure.RequestFailedException)
        {
            return HealthCheckResult.Unhealthy($"container not reachable or not seeded yet: {e.Message}");
        }
    }
}
