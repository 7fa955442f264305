using AppHost.Dashboard;
using AppHost.Hosting;
using AppHost.Testing;

[assembly: AssemblyFixture(typeof(AppHost.Tests.SystemFixture))]

namespace AppHost.Tests;

/// <summary>
/// One running Aspire.Inference graph (real Redis and RabbitMQ, 2 workers) with its dashboard
/// (sign-in on, free port) shared by this assembly's tests.
/// </summary>
public sealed class SystemFixture : IAsyncLifetime
{
    /// <summary>Tests that stop, kill or restart a replica run one at a time in this collection.</summary>
    public const string Disruptive = "system (replicas killed or restarted)";

    public DistributedApplication App { get; private set; } = null!;

    public DashboardServer Dashboard { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        App = DistributedApplicationTestingBuilder.Create(o => o.Workers = 2).Build();
        Dashboard = await DashboardServer.StartAsync(App, new DashboardOptions { Port = 0 }, TestContext.Current.CancellationToken);
        await App.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Dashboard is not null)
        {
            await Dashboard.DisposeAsync();
        }
        App.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "apphost"));
        await App.DisposeAsync();
    }
}
