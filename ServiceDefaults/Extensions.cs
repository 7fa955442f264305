using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using ServiceDefaults.Health;
using ServiceDefaults.Http;
using ServiceDefaults.Telemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>What every Aspire.Inference service shares: telemetry, health endpoints, graceful shutdown.</summary>
public static class ServiceDefaultsExtensions
{
    public const string LiveTag = "live";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.Services.AddSingleton<InferenceMetrics>();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DependencyExceptionHandler>();
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        return builder;
    }

    /// <summary>
    /// <c>/health</c>: ready, every dependency reachable (JSON body with each check);
    /// <c>/alive</c>: the process is live (only checks tagged "live").
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Wraps every endpoint: an uncaught exception becomes problem+json (503 when a dependency is down).
        app.UseExceptionHandler();
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
        app.MapHealthChecks("/alive", new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(LiveTag),
            ResponseWriter = HealthReportWriter.WriteAsync,
        });
        // Prometheus text format 0.0.4, for scrapers (and the AppHost dashboard's charts).
        app.MapGet("/metrics", (InferenceMetrics metrics) =>
            Results.Text(metrics.WritePrometheusText(), "text/plain; version=0.0.4; charset=utf-8"));
        return app;
    }
}
