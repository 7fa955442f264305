using AppHost.Hosting;

namespace AppHost.Testing;

/// <summary>
/// Our counterpart of Aspire.Hosting.Testing: the same graph as <c>dotnet run --project AppHost</c>,
/// on ephemeral ports and a private run folder that is deleted on dispose.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <param name="otlpEndpoint">Given to every project as <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (a test's OTLP receiver).</param>
    public static DistributedApplicationBuilder CreateEmpty(TextWriter? consoleEcho = null, Dictionary<string, string>? executables = null, string? otlpEndpoint = null) =>
        new(new DistributedApplicationOptions
        {
            RunDirectory = Path.Combine(Projects.RepositoryInfo.Root, ".run", "tests", $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}"[..20]),
            DeleteRunDirectoryOnDispose = true,
            ConsoleEcho = consoleEcho ?? (Environment.GetEnvironmentVariable("APPHOST_TEST_ECHO") == "1" ? Console.Error : null),
            Environment = "Development",
            RestartDelay = TimeSpan.FromMilliseconds(500),
            Executables = executables ?? new(StringComparer.Ordinal),
            OtlpEndpoint = otlpEndpoint,
        });

    /// <summary>The full Aspire.Inference graph (Redis, RabbitMQ, ModelSync, workers, gateways).</summary>
    public static DistributedApplicationBuilder Create(Action<AppModelOptions>? configure = null, string? otlpEndpoint = null)
    {
        var options = new AppModelOptions { Workers = 1, Gateways = 1, GatewayPort = 0 };
        configure?.Invoke(options);
        return AppModel.Configure(CreateEmpty(otlpEndpoint: otlpEndpoint), options);
    }
}
