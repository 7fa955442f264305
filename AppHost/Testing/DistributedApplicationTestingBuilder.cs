using AppHost.Hosting;

namespace AppHost.Testing;

/// <summary>
/// Our counterpart of Aspire.Hosting.Testing: the same graph as <c>dotnet run --project AppHost</c>,
/// on ephemeral ports and a private run folder that is deleted on dispose.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    public static DistributedApplicationBuilder CreateEmpty(TextWriter? consoleEcho = null, Dictionary<string, string>? executables = null) =>
        new(new DistributedApplicationOptions
        {
            RunDirectory = Path.Combine(Projects.RepositoryInfo.Root, ".run", "tests", $"{DateTime.UtcNow:HHmmss}-{Guid.NewGuid():N}"[..20]),
            DeleteRunDirectoryOnDispose = true,
            ConsoleEcho = consoleEcho ?? (Environment.GetEnvironmentVariable("APPHOST_TEST_ECHO") == "1" ? Console.Error : null),
            Environment = "Development",
            RestartDelay = TimeSpan.FromMilliseconds(500),
            Executables = executables ?? new(StringComparer.Ordinal),
        });

    /// <summary>The full Aspire.Inference graph (Redis, RabbitMQ, ModelSync, workers, gateways).</summary>
    public static DistributedApplicationBuilder Create(Action<AppModelOptions>? configure = null)
    {
        var options = new AppModelOptions { Workers = 1, Gateways = 1, GatewayPort = 0 };
        configure?.Invoke(options);
        return AppModel.Configure(CreateEmpty(), options);
    }
}
