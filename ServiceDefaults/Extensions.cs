using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ServiceDefaults.Health;
using ServiceDefaults.Http;
using ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The Aspire template's service defaults — OpenTelemetry, health checks, service discovery, HTTP resilience — plus what
/// every Aspire.Inference service shares: the job metrics and spans, problem+json for dependency outages, /metrics.
/// </summary>
public static class ServiceDefaultsExtensions
{
    public const string LiveTag = "live";
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";
    private const string MetricsEndpointPath = "/metrics";

    /// <summary>Prefix of every ActivitySource and Meter in the solution.</summary>
    public const string SourcePrefix = "Aspire.Inference";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });

        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DependencyExceptionHandler>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        return builder;
    }

    /// <summary>
    /// Logs, metrics and traces over OTLP to <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (the AppHost points it at Aspire's dashboard).
    /// Unlike the template, nothing is registered when no endpoint is set: spans and measurements made only to be dropped
    /// cost CPU on every job.
    /// </summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        // The client integrations' own spans are off unless asked for (Aspire__StackExchange__Redis__DisableTracing=false,
        // Aspire__RabbitMQ__Client__DisableTracing=false). Redis traces every command, and those without a job around them
        // (heartbeats, catalog refreshes, ModelSync's polls) become root traces, several a second, that bury the jobs'
        // traces on the dashboard. RabbitMQ.Client adds a publish and a deliver span to every job: measured with
        // bench/side-by-side.sh and the dashboard on, 17.3 instead of 14.2 ms of CPU per ocr-cls job (the dashboard
        // ingesting them, gateway, workers) and 104 instead of 126 jobs/s. A job's trace needs neither: the gateway's
        // "submit job" context travels on the message as traceparent and the worker's "run job" is its child.
        var exported = IsTelemetryExported(builder.Configuration);
        var defaults = new Dictionary<string, string?>();
        foreach (var key in new[] { "Aspire:StackExchange:Redis:DisableTracing", "Aspire:RabbitMQ:Client:DisableTracing" })
        {
            if (!exported || builder.Configuration[key] is null)
            {
                defaults[key] = "true";
            }
        }
        builder.Configuration.AddInMemoryCollection(defaults);
        if (!exported)
        {
            return builder;
        }

        // One export waits at most 3 s (OTLP's default is 10 s): a collector that is gone — the dashboard stopping with
        // the AppHost — must not hold a service's shutdown past its orchestrator's grace period.
        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_TIMEOUT"]))
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_TIMEOUT"] = "3000" });
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(SourcePrefix + ".*"))
            .WithTracing(tracing => tracing
                .AddSource(SourcePrefix + ".*")
                // Probes, scrapes and the AppHost's model-status polls, each a root trace every second or two per replica,
                // would bury the jobs' traces.
                .AddAspNetCoreInstrumentation(o => o.Filter = context =>
                    !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                    && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath)
                    && !context.Request.Path.StartsWithSegments(MetricsEndpointPath)
                    && !context.Request.Headers.UserAgent.ToString().StartsWith(Contracts.Telemetry.AppHostUserAgent, StringComparison.Ordinal))
                .AddHttpClientInstrumentation())
            .UseOtlpExporter();
        return builder;
    }

    /// <summary>Whether telemetry goes anywhere: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    public static bool IsTelemetryExported(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        return builder;
    }

    /// <summary>
    /// <c>/health</c>: ready, every dependency reachable (JSON body with each check);
    /// <c>/alive</c>: the process is live (only checks tagged "live"). Mapped in every environment, not only Development
    /// as in the template: Kubernetes and Container Apps probe them, and they reveal nothing but check names and states.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Wraps every endpoint: an uncaught exception becomes problem+json (503 when a dependency is down).
        app.UseExceptionHandler();
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(LiveTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        // Prometheus text format 0.0.4, for scrapers.
        app.MapGet(MetricsEndpointPath, (InferenceMetrics metrics) =>
            Results.Text(metrics.WritePrometheusText(), "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }
}
