using Client.Bench;

namespace Integration.Tests;

/// <summary>
/// Many idle hub connections on one gateway still each get their push. (The 10,000-connection run with memory and
/// latency figures is a benchmark: bench/connections.sh.)
/// </summary>
public sealed class ConnectionCapacityTests(SystemFixture system)
{
    [Fact]
    public async Task A_thousand_connections_held_open_on_one_gateway_each_get_their_own_result_pushed()
    {
        var settings = new ConnectionsSettings(
            system.Gateway(0), Connections: 1000, Model: "ocr-cls", Input: Fixtures.Bytes("line-001.png"),
            Senders: 2, Duration: TimeSpan.FromSeconds(1), Settle: TimeSpan.FromSeconds(1), GatewayPid: null,
            EveryConnectionSubmits: true, SubmitConcurrency: 64, ApiKey: SystemFixture.ApiKey);

        var report = await new ConnectionsRun(settings, _ => { }).RunAsync(TestContext.Current.CancellationToken);

        Assert.Empty(report.ConnectErrors);
        Assert.Equal(1000, report.Connected);
        Assert.Empty(report.PushErrors);
        Assert.True(report.PushSucceeded > 0);
        Assert.Empty(report.EveryConnectionErrors);
        Assert.Equal(1000, report.EveryConnectionPushed);
        Assert.Equal(1000, report.StillConnected);
    }
}
