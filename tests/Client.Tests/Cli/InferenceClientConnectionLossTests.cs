using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;

namespace Client.Tests.Cli;

/// <summary>A gateway that drops the caller's connection instead of answering.</summary>
public sealed class DroppingHub : Hub
{
    public async Task<string> Submit(string model, byte[] input, JsonElement? options)
    {
        Context.Abort();
        await Task.Delay(Timeout.Infinite, Context.ConnectionAborted);
        return "never";
    }
}

public sealed class InferenceClientConnectionLossTests
{
    private static readonly InferenceClientOptions NoReconnect = new() { ReconnectDelays = [] };

    [Fact]
    public async Task Call_cut_off_by_the_gateway_closing_the_connection_is_a_connection_error_not_a_refusal()
    {
        await using var app = await TestGateway.StartAsync<DroppingHub>();
        await using var client = await InferenceClient.ConnectAsync(TestGateway.Address(app), NoReconnect, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InferenceConnectionException>(() => client.SubmitAsync("ocr-cls", [1], cancellationToken: TestContext.Current.CancellationToken));
        // And so is a call made after it closed.
        await Assert.ThrowsAsync<InferenceConnectionException>(() => client.SubmitAsync("ocr-cls", [1], cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Message_over_the_gateways_limit_closes_the_connection_with_its_error()
    {
        await using var app = await TestGateway.StartAsync<DroppingHub>(services: s => s.Configure<HubOptions>(o => o.MaximumReceiveMessageSize = 1024));
        await using var client = await InferenceClient.ConnectAsync(TestGateway.Address(app), NoReconnect, TestContext.Current.CancellationToken);

        var error = await Assert.ThrowsAsync<InferenceConnectionException>(
            () => client.SubmitAsync("ocr-cls", new byte[10_000], cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("closed the connection", error.Message, StringComparison.Ordinal);
    }
}
