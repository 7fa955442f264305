namespace AppHost.Dashboard;

/// <summary>Where the dashboard listens and whether it asks for the browser token (bound from the <c>Dashboard</c> section).</summary>
public sealed class DashboardOptions
{
    public const int DefaultPort = 18888;

    /// <summary>Port on 127.0.0.1; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = DefaultPort;

    /// <summary>Serve without sign-in, like Aspire's <c>ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS</c>.</summary>
    public bool Unsecured { get; set; }

    /// <summary>The browser token; a random one when empty.</summary>
    public string? BrowserToken { get; set; }

    /// <summary>How often worker heartbeats, queue depths and service metrics are sampled.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The resource whose admin API feeds the Models panel and its rollback command.</summary>
    public string ModelSyncResource { get; set; } = "modelsync";
}
