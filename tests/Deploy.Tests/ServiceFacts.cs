using System.Text.RegularExpressions;
using Contracts.Jobs;

namespace Deploy.Tests;

/// <summary>
/// What the manifests must agree with, read from the services' own code and the repository rather than restated here:
/// the connection strings each service asks for, its shutdown bounds, and the model queues.
/// </summary>
internal static partial class ServiceFacts
{
    /// <summary>The three services and their Deployments.</summary>
    public static readonly string[] Services = ["gateway", "worker", "modelsync"];

    private static readonly Dictionary<string, string> Folders = new(StringComparer.Ordinal)
    {
        ["gateway"] = "Gateway",
        ["worker"] = "Worker",
        ["modelsync"] = "ModelSync",
    };

    // Aspire's client integrations (AddRedisClient("cache"), AddRabbitMQClient, AddNpgsqlDataSource, AddNpgsqlDbContext<T>,
    // Azure's Add…Client) and our own bucket, or a connection string read directly.
    [GeneratedRegex("""\.(?:Add(?!Http)\w*Client|AddModelBucket|AddNpgsql\w*|Add\w*DbContext)(?:<[\w.]+>)?\("([a-z][a-z0-9-]*)"|GetRequiredConnectionString\("([a-z][a-z0-9-]*)"|GetConnectionString\("([a-z][a-z0-9-]*)"\)""")]
    private static partial Regex ConnectionUse();

    [GeneratedRegex(@"ShutdownTimeout = TimeSpan\.FromSeconds\((\d+)\)")]
    private static partial Regex ShutdownTimeoutPattern();

    [GeneratedRegex(@"\[""OTEL_EXPORTER_OTLP_TIMEOUT""\] = ""(\d+)""")]
    private static partial Regex OtlpTimeoutPattern();

    /// <summary>ConnectionStrings__{name} for every connection the service's code asks for.</summary>
    public static SortedSet<string> ConnectionVariables(string service)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Repository.PathOf(Folders[service]), "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                              && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            foreach (Match match in ConnectionUse().Matches(File.ReadAllText(file)))
            {
                var name = match.Groups.Values.Skip(1).First(g => g.Success).Value;
                names.Add($"ConnectionStrings__{name}");
            }
        }
        return names;
    }

    /// <summary>Every variable a service's container must have: its connections, its identity and telemetry, the host's.</summary>
    public static SortedSet<string> RequiredVariables(string service)
    {
        var names = ConnectionVariables(service);
        names.UnionWith(["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_ENDPOINT", "ASPNETCORE_URLS", "DOTNET_ENVIRONMENT"]);
        if (service == "modelsync")
        {
            names.Add("ModelSync__AdminKey"); // the admin API (pin, roll back) is off without it
        }
        if (service == "gateway")
        {
            names.Add("Accounts__AdminKey"); // the operator API (accounts' limits) is off without it
        }
        return names;
    }

    private static string ServiceDefaults => File.ReadAllText(Repository.PathOf("ServiceDefaults", "Extensions.cs"));

    /// <summary>The host's shutdown bound (HostOptions.ShutdownTimeout in ServiceDefaults).</summary>
    public static TimeSpan ShutdownTimeout =>
        TimeSpan.FromSeconds(int.Parse(ShutdownTimeoutPattern().Match(ServiceDefaults) is { Success: true } m ? m.Groups[1].Value
            : throw new InvalidOperationException("ShutdownTimeout = TimeSpan.FromSeconds(N) is not in ServiceDefaults/Extensions.cs")));

    /// <summary>The longest one OTLP export may take (the flush when the host stops).</summary>
    public static TimeSpan OtlpExportTimeout =>
        TimeSpan.FromMilliseconds(int.Parse(OtlpTimeoutPattern().Match(ServiceDefaults) is { Success: true } m ? m.Groups[1].Value
            : throw new InvalidOperationException("the OTEL_EXPORTER_OTLP_TIMEOUT default is not in ServiceDefaults/Extensions.cs")));

    /// <summary>The queue of every model in the repository's bucket (models/{model}/{version}/model.json).</summary>
    public static SortedSet<string> ModelQueues() =>
        new(Directory.GetDirectories(Repository.PathOf("models"))
            .Where(d => Directory.EnumerateFiles(d, "model.json", SearchOption.AllDirectories).Any())
            .Select(d => JobQueues.ForModel(Path.GetFileName(d))), StringComparer.Ordinal);
}
