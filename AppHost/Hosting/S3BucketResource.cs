// A local S3-compatible server (s3rver, from npm, installed by scripts/setup.sh into .deps/node) holding one bucket,
// optionally seeded from a local model tree, handed to services as ConnectionStrings__{name} = s3://bucket?endpoint=….
using System.Globalization;
using Engine.Bucket;

namespace AppHost.Hosting;

public sealed class S3BucketResource : ExecutableResource, IResourceWithConnectionString
{
    /// <summary>s3rver's fixed key pair: it accepts requests signed with it and nothing else.</summary>
    public const string AccessKey = "S3RVER";

    /// <summary>
    /// s3rver has no health endpoint, and GET /health lists a bucket named "health": the AppHost creates that bucket only
    /// once the seed is uploaded, so the standard HTTP health probe means "up and seeded" and WaitFor holds services until then.
    /// </summary>
    private const string ReadyBucket = "health";

    public S3BucketResource(string name, string command, string bucket) : base(name, command)
    {
        Kind = "S3";
        Bucket = bucket;
        HasHttpEndpoint = true;
        Readiness = ReadinessProbe.HttpHealth;
        StopTimeout = TimeSpan.FromSeconds(10);
        InstallHint = "bash scripts/setup.sh (installs s3rver into .deps/node)";
    }

    public string Bucket { get; }

    /// <summary>A local tree <c>{model}/{version}/</c> whose versions are published into the bucket at start (when missing).</summary>
    public string? SeedDirectory { get; set; }

    public string Endpoint => $"http://127.0.0.1:{AllocatedPorts[0].ToString(CultureInfo.InvariantCulture)}";

    public string ConnectionString => $"s3://{Bucket}?endpoint={Endpoint}&accessKey={AccessKey}&secretKey={AccessKey}";

    public override void Prepare(ReplicaStartContext context)
    {
        Directory.CreateDirectory(context.DataDirectory);
        context.Args.AddRange([
            "--directory", context.DataDirectory,
            "--address", "127.0.0.1",
            "--port", context.Port.ToString(CultureInfo.InvariantCulture),
            "--silent",
            "--configure-bucket", Bucket,
        ]);
        // Runs beside the server process: seeding needs it up, and readiness waits for the seed.
        _ = Task.Run(() => SeedAsync(context.Port));
    }

    private async Task SeedAsync(int port)
    {
        var settings = ModelBuckets.ParseS3(ConnectionString);
        using var bucket = new S3ModelBucket(settings);
        using var ready = new S3ModelBucket(settings with { Bucket = ReadyBucket });
        var deadline = DateTime.UtcNow + StartupTimeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await bucket.EnsureBucketAsync(CancellationToken.None);
                if (SeedDirectory is { } seed && Directory.Exists(seed))
                {
                    await ModelPublisher.SeedAsync(bucket, seed, CancellationToken.None);
                }

                await ready.EnsureBucketAsync(CancellationToken.None);
                return;
            }
            catch (IOException)
            {
                // Not listening yet (or restarting): try again shortly.
                await Task.Delay(200);
            }
        }

        Console.Error.WriteLine($"apphost: {Name}: the bucket could not be seeded on port {port} within {StartupTimeout.TotalSeconds:0} s");
    }
}

public static class S3BucketResourceExtensions
{
    /// <summary>A local S3 server (s3rver) with one bucket; services get <c>ConnectionStrings__{name}</c> as an s3:// URL.</summary>
    public static IResourceBuilder<S3BucketResource> AddS3Bucket(this DistributedApplicationBuilder builder, string name, string? bucket = null)
    {
        var configured = builder.Options.Executables.TryGetValue("s3rver", out var path) && !string.IsNullOrWhiteSpace(path)
            ? path
            : Path.Combine(Projects.RepositoryInfo.Root, ".deps", "node", "node_modules", ".bin", "s3rver");
        var resource = new S3BucketResource(name, configured, bucket ?? name);
        return builder.AddResource(resource);
    }

    /// <summary>Publishes every version under <paramref name="directory"/> (<c>{model}/{version}/</c>) the bucket lacks, before it is ready.</summary>
    public static IResourceBuilder<S3BucketResource> WithSeedData(this IResourceBuilder<S3BucketResource> builder, string directory)
    {
        builder.Resource.SeedDirectory = Path.GetFullPath(directory);
        return builder;
    }
}
