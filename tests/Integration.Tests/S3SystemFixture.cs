using AppHost.Hosting;
using AppHost.Testing;

namespace Integration.Tests;

/// <summary>
/// A second, smaller system with the S3 backend: the AppHost's s3rver seeded with ocr-cls version 1 only, one gateway,
/// three workers, ModelSync polling every second and draining up to two workers at once (<c>ModelSync__MaxUnavailable</c>).
/// Its own AppHost run (ports, Redis, RabbitMQ), beside the assembly's shared system.
/// </summary>
public sealed class S3SystemFixture : IAsyncLifetime
{
    public const int Workers = 3;
    public const int MaxUnavailable = 2;

    public DistributedApplication App { get; private set; } = null!;

    public string AdminKey { get; private set; } = "";

    /// <summary>The tree the bucket is seeded from: ocr-cls/1 of the repository.</summary>
    public string Seed { get; } = Path.Combine(Projects.RepositoryInfo.Root, ".run", "tests", $"s3seed-{Guid.NewGuid():N}"[..20]);

    /// <summary><c>ConnectionStrings__models</c> as the services get it: s3://models?endpoint=…</summary>
    public string Bucket => App.GetConnectionString("models")!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(Seed, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(Seed, "ocr-cls", "1"), Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1"));
        App = DistributedApplicationTestingBuilder.Create(o =>
        {
            o.Workers = Workers;
            o.Gateways = 1;
            o.ModelBucket = "s3";
            o.Models = Seed;
            AdminKey = o.AdminKey;
            o.ServiceEnvironment["ModelSync__PollInterval"] = "00:00:01";
            o.ServiceEnvironment["ModelSync__MaxUnavailable"] = MaxUnavailable.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }).Build();
        await App.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        Directory.Delete(Seed, recursive: true);
    }
}
