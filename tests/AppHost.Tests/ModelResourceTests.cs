using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using TestSupport;

namespace AppHost.Tests;

/// <summary>Each model as a resource on Aspire's dashboard, driven by ModelSync, with roll back and pin as resource commands.</summary>
[Collection(SystemFixture.Disruptive)]
public sealed class ModelResourceTests(SystemFixture fixture)
{
    private const string Resource = "model-ocr-cls";
    private readonly AspireSystem _system = fixture.Aspire;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rollback_command_rolls_the_model_back_and_pin_command_pins_a_version()
    {
        // The bucket holds v1 and v2 (same weights): ModelSync makes the newest valid version desired and the workers roll to it.
        // Every replica up first: a test before this one may have killed or stopped one (the state counts the workers serving).
        await _system.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
        var replicas = _system.Replicas("worker").Count;
        var serving2 = await _system.WaitForSnapshotAsync(Resource, s => s.State?.Text == "Serving v2" && ServingCount(s, 2) == replicas,
            TimeSpan.FromSeconds(150), Ct);
        Assert.Equal("2", AspireSystem.Property(serving2, "model.desired"));
        Assert.Equal("v1 valid, v2 valid", AspireSystem.Property(serving2, "model.versions"));
        // Whatever rollout the start-up produced (v1 judged first, then v2) has ended; none reads as running forever.
        await _system.WaitForSnapshotAsync(Resource, s => AspireSystem.Property(s, "model.rollout") is { } r && !r.StartsWith("running", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), Ct);

        var rollback = await _system.App.ResourceCommands.ExecuteCommandAsync(Resource, "rollback", Ct);
        Assert.True(rollback.Success, rollback.Message);
        Assert.Equal("ocr-cls: rolled back; version 1 is pinned as desired.", rollback.Message);
        var serving1 = await _system.WaitForSnapshotAsync(Resource, s => s.State?.Text == "Serving v1", TimeSpan.FromSeconds(150), Ct);
        Assert.Equal("1", AspireSystem.Property(serving1, "model.pinned"));
        Assert.Contains("v2 → v1", AspireSystem.Property(serving1, "model.rollout"), StringComparison.Ordinal);

        // Nothing older than v1: the command fails with ModelSync's stable problem code, and nothing changes.
        var again = await _system.App.ResourceCommands.ExecuteCommandAsync(Resource, "rollback", Ct);
        Assert.False(again.Success);
        Assert.StartsWith("no_previous_version: ", again.Message, StringComparison.Ordinal);

        var badPin = await _system.App.ResourceCommands.ExecuteCommandAsync(Resource, "pin", Version("7"), Ct);
        Assert.False(badPin.Success);
        Assert.StartsWith("version_not_found: ", badPin.Message, StringComparison.Ordinal);

        var pin = await _system.App.ResourceCommands.ExecuteCommandAsync(Resource, "pin", Version("2"), Ct);
        Assert.True(pin.Success, pin.Message);
        var back = await _system.WaitForSnapshotAsync(Resource, s => s.State?.Text == "Serving v2", TimeSpan.FromSeconds(150), Ct);
        Assert.Equal("2", AspireSystem.Property(back, "model.pinned"));
        await _system.WaitForHealthyAsync("worker", TimeSpan.FromSeconds(90), Ct);
    }

    /// <summary>How many workers the snapshot's <c>model.serving</c> ("worker-…: v2, …") shows serving <paramref name="version"/>.</summary>
    private static int ServingCount(CustomResourceSnapshot snapshot, int version) =>
        (AspireSystem.Property(snapshot, "model.serving") ?? "").Split(", ").Count(s => s.EndsWith($": v{version}", StringComparison.Ordinal));

    private static InteractionInputCollection Version(string value) =>
        new([new InteractionInput { Name = "version", Label = "Version", InputType = InputType.Number, Value = value }]);
}
