using System.Text.Json;
using Contracts.Jobs;
using Microsoft.AspNetCore.SignalR;

namespace Client.Tests.Cli;

/// <summary>A gateway whose job finishes so fast that its result is pushed before Submit's completion reaches the client.</summary>
public sealed class InstantResultHub : Hub
{
    public async Task<string> Submit(string model, byte[] input, JsonElement? options)
    {
        var id = Guid.NewGuid().ToString("N");
        await Clients.Caller.SendAsync("JobUpdated", new JobRecord
        {
            Id = id,
            Model = model,
            Status = JobStatus.Succeeded,
            Output = JsonDocument.Parse("""{"label":"0"}""").RootElement.Clone(),
        });
        return id;
    }
}

public sealed class InferenceClientEarlyResultTests
{
    [Theory, InlineData(HubProtocol.Json), InlineData(HubProtocol.MessagePack)]
    public async Task Result_pushed_before_the_submit_returns_is_not_lost(HubProtocol protocol)
    {
        await using var app = await TestGateway.StartAsync<InstantResultHub>();
        await using var client = await TestGateway.ConnectAsync(app, protocol);

        for (var i = 0; i < 20; i++)
        {
            var id = await client.SubmitAsync("ocr-cls", [1], cancellationToken: TestContext.Current.CancellationToken);
            var record = await client.WaitAsync(id, TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);

            Assert.Equal(JobStatus.Succeeded, record.Status);
        }
    }
}
