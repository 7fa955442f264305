namespace AppHost.Hosting;

/// <summary>Where and how an application graph runs.</summary>
public sealed class DistributedApplicationOptions
{
    /// <summary>Folder for the servers' data directories; created if missing.</summary>
    public required string RunDirectory { get; init; }

    /// <summary>Delete <see cref="RunDirectory"/> when the application is disposed (tests).</summary>
    public bool DeleteRunDirectoryOnDispose { get; init; }

    /// <summary>Echo every resource's console output, prefixed with its name, to this writer.</summary>
    public TextWriter? ConsoleEcho { get; init; }

    /// <summary><c>DOTNET_ENVIRONMENT</c>/<c>ASPNETCORE_ENVIRONMENT</c> given to projects.</summary>
    public string Environment { get; init; } = "Production";

    /// <summary>Passed to every project as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> when set.</summary>
    public string? OtlpEndpoint { get; init; }

    /// <summary>Lines kept per replica's console log.</summary>
    public int ConsoleLogCapacity { get; init; } = 2000;

    /// <summary>Restart backoff: first delay, doubled per consecutive crash up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Paths of external programs by name (e.g. "redis-server"), overriding the defaults.</summary>
    public Dictionary<string, string> Executables { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>Collects the application graph, Aspire style, then builds the orchestrator that runs it.</summary>
public sealed class DistributedApplicationBuilder(DistributedApplicationOptions options)
{
    private readonly List<IResource> _resources = [];

    public DistributedApplicationOptions Options { get; } = options;

    public IReadOnlyList<IResource> Resources => _resources;

    public IResourceBuilder<RedisResource> AddRedis(string name) =>
        Add(new RedisResource(name, Executable("redis-server", "redis-server")));

    public IResourceBuilder<RabbitMQServerResource> AddRabbitMQ(string name) =>
        Add(new RabbitMQServerResource(name, Executable("rabbitmq-server", "/usr/lib/rabbitmq/bin/rabbitmq-server")));

    public IResourceBuilder<ProjectResource> AddProject<TProject>(string name) where TProject : IProjectMetadata, new() =>
        Add(new ProjectResource(name, new TProject(), Executable("dotnet", DotnetHost.Path)));

    public IResourceBuilder<ExecutableResource> AddExecutable(string name, string command, params string[] args)
    {
        var resource = new ExecutableResource(name, Executable(command, command));
        resource.Args.AddRange(args);
        return Add(resource);
    }

    public IResourceBuilder<IResourceWithConnectionString> AddConnectionString(string name, string value) =>
        Add<IResourceWithConnectionString>(new ConnectionStringResource(name, value));

    /// <summary>Adds a resource of a kind defined elsewhere (Aspire's <c>builder.AddResource</c>), e.g. <see cref="S3BucketResource"/>.</summary>
    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource => Add(resource);

    public DistributedApplication Build() => new(Options, _resources);

    private IResourceBuilder<T> Add<T>(T resource) where T : IResource
    {
        if (_resources.Any(r => r.Name == resource.Name))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' is already in the application graph.");
        }
        _resources.Add(resource);
        return new ResourceBuilder<T>(resource, this);
    }

    private string Executable(string name, string defaultPath) =>
        Options.Executables.TryGetValue(name, out var path) && !string.IsNullOrWhiteSpace(path) ? path : defaultPath;
}

/// <summary>The <c>dotnet</c> host that runs service assemblies.</summary>
internal static class DotnetHost
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        // Set by the dotnet CLI for processes it starts (dotnet run, dotnet test).
        if (System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
        {
            return hostPath;
        }
        if (System.Environment.ProcessPath is { } self && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }
        return "dotnet";
    }
}
