using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace ServiceDefaults.Telemetry;

/// <summary>
/// OpenTelemetry wired on the SDK directly (the hosting/instrumentation packages don't restore here).
/// Traces, metrics and logs go over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Prefix of every ActivitySource and Meter in the solution.</summary>
    public const string SourcePrefix = "Aspire.Inference";

    public static IHostApplicationBuilder ConfigureOpenTelemetry(this IHostApplicationBuilder builder)
    {
        var endpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return builder;
        }

        // One export waits at most this long (OTLP's default is 10 s, with retries): a collector that is gone — the
        // dashboard stopping with the AppHost — must not hold a service's shutdown past its orchestrator's grace period.
        var timeout = int.TryParse(builder.Configuration["OTEL_EXPORTER_OTLP_TIMEOUT"], out var configured) ? configured : 3000;
        void Bounded(OpenTelemetry.Exporter.OtlpExporterOptions o) => o.TimeoutMilliseconds = timeout;
        var serviceName = builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName;
        // The instance id comes from OTEL_RESOURCE_ATTRIBUTES (Aspire sets it per replica), not a random one of the SDK's:
        // that is how Aspire's dashboard ties a replica's traces, metrics and logs to its row.
        var resource = ResourceBuilder.CreateDefault().AddService(serviceName, autoGenerateServiceInstanceId: false);

        builder.Logging.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(resource);
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = true;
            o.AddOtlpExporter(Bounded);
        });

        builder.Services.AddSingleton(_ => new TelemetryProviders(
            Sdk.CreateTracerProviderBuilder()
                .SetResourceBuilder(resource)
                .AddSource(SourcePrefix + ".*")
                // ASP.NET Core's own request activities: listened to, they are sampled like ours, so a job's
                // "submit job" span (their child) is recorded and the traceparent it sends says so.
                .AddSource("Microsoft.AspNetCore")
                .AddOtlpExporter(Bounded)
                .Build(),
            Sdk.CreateMeterProviderBuilder()
                .SetResourceBuilder(resource)
                .AddMeter(SourcePrefix + ".*")
                .AddOtlpExporter(Bounded)
                .Build()));
        // Resolving the providers at start makes the container own (and flush) them at shutdown.
        builder.Services.AddHostedService<TelemetryLifetime>();
        return builder;
    }
}

internal sealed class TelemetryLifetime(TelemetryProviders providers) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken)
    {
        providers.Flush();
        return Task.CompletedTask;
    }
}

/// <summary>Holds the providers so the container flushes and disposes them at shutdown.</summary>
internal sealed class TelemetryProviders(TracerProvider? tracer, MeterProvider? meter) : IDisposable
{
    public void Flush()
    {
        tracer?.ForceFlush(2000);
        meter?.ForceFlush(2000);
    }

    public void Dispose()
    {
        tracer?.Shutdown(1000);
        meter?.Shutdown(1000);
        tracer?.Dispose();
        meter?.Dispose();
    }
}
