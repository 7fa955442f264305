using AppHost.Hosting;
using AppHost.Testing;

[assembly: AssemblyFixture(typeof(AppHost.Tests.SystemFixture))]

namespace AppHost.Tests;

/// <summary>One running Aspire.Inference graph (real Redis and RabbitMQ, 2 workers) shared by this assembly's tests.</summary>
public sealed class SystemFixture : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        App = DistributedApplicationTestingBuilder.Create(o => o.Workers = 2).Build();
        await App.StartAsync(TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
