namespace Contracts;

public static class Telemetry
{
    /// <summary>
    /// The User-Agent of the AppHost's own requests (the model resources poll ModelSync's admin API every second). The
    /// services leave them out of their traces: one root trace per poll would bury the jobs' traces on the dashboard.
    /// </summary>
    public const string AppHostUserAgent = "Aspire.Inference.AppHost";
}
