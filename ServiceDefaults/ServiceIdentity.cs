using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Who this process is: the service name and the replica's instance id, read from the OpenTelemetry
/// variables the AppHost (or a Kubernetes manifest) sets, falling back to the host name. An instance id that does not
/// start with the service name gets it as a prefix, so Aspire's replica suffix (<c>kqzvwbrn</c>) reads as the replica's
/// name on its dashboard (<c>worker-kqzvwbrn</c>) wherever it shows up: heartbeats, rollouts, metrics.
/// </summary>
public sealed record ServiceIdentity(string ServiceName, string InstanceId)
{
    public static ServiceIdentity From(IConfiguration configuration, string fallbackName)
    {
        var name = configuration["OTEL_SERVICE_NAME"] ?? fallbackName;
        var instance = ParseAttribute(configuration["OTEL_RESOURCE_ATTRIBUTES"], "service.instance.id")
            ?? $"{Environment.MachineName}-{Environment.ProcessId}";
        return new ServiceIdentity(name, instance.StartsWith(name + "-", StringComparison.Ordinal) ? instance : $"{name}-{instance}");
    }

    private static string? ParseAttribute(string? attributes, string key)
    {
        foreach (var pair in (attributes ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq > 0 && pair[..eq].Trim() == key)
            {
                return Uri.UnescapeDataString(pair[(eq + 1)..].Trim());
            }
        }
        return null;
    }
}
