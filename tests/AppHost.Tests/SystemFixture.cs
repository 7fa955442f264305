using TestSupport;

[assembly: AssemblyFixture(typeof(AppHost.Tests.SystemFixture))]
// Several tests start whole systems of their own or kill replicas: on 2 cores they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace AppHost.Tests;

/// <summary>
/// One running Aspire.Inference graph through Aspire.Hosting.Testing (real Redis and RabbitMQ, ModelSync, 2 workers,
/// a gateway) shared by this assembly's tests, over a private bucket holding ocr-cls versions 1 and 2.
/// </summary>
public sealed class SystemFixture : IAsyncLifetime
{
    /// <summary>Tests that stop, kill or restart a replica run one at a time in this collection.</summary>
    public const string Disruptive = "system (replicas killed or restarted)";

    public AspireSystem Aspire { get; private set; } = null!;

    public string Bucket { get; } = AspireSystem.NewRunDirectory("apphost-bucket");

    public string AdminKey { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public async ValueTask InitializeAsync()
    {
        // ocr-cls v1 as the repository has it, and a v2 with the same weights, so a rollback has somewhere to go.
        var v1 = Path.Combine(Projects.RepositoryInfo.Root, "models", "ocr-cls", "1");
        Directory.CreateDirectory(Path.Combine(Bucket, "ocr-cls"));
        Directory.CreateSymbolicLink(Path.Combine(Bucket, "ocr-cls", "1"), v1);
        var v2 = Directory.CreateDirectory(Path.Combine(Bucket, "ocr-cls", "2")).FullName;
        File.Copy(Path.Combine(v1, "model.onnx"), Path.Combine(v2, "model.onnx"));
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(v1, "model.json")))!;
        manifest["version"] = 2;
        File.WriteAllText(Path.Combine(v2, "model.json"), manifest.ToJsonString());

        Aspire = await AspireSystem.StartAsync(AspireSystem.NewRunDirectory("apphost"),
            ["--AppHost:Workers=2", "--AppHost:GatewayPort=0", $"--AppHost:Models={Bucket}", $"--AppHost:AdminKey={AdminKey}"],
            configure: null, TestContext.Current.CancellationToken);
        // ModelSync makes v2 desired as soon as it validated both; tests start once every worker serves it, so a rollout
        // never overlaps a test that stops or kills a worker.
        await Aspire.WaitForSnapshotAsync("model-ocr-cls", s => s.State?.Text == "Serving v2"
            && AspireSystem.Property(s, "model.serving")?.Split(", ").Count(w => w.EndsWith(": v2", StringComparison.Ordinal)) == 2,
            TimeSpan.FromSeconds(120), TestContext.Current.CancellationToken);
    }

    /// <summary>
    /// Stops the shared graph (once; later calls return the same task). <see cref="LifecycleRuns"/> calls it as the lifecycle
    /// tests begin, after every test that uses this graph: its stop then overlaps their three AppHost starts instead of adding
    /// ~13 s at the end, and the idle graph no longer shares the cores with those starts.
    /// </summary>
    public Task StopAsync()
    {
        lock (Bucket)
        {
            return _stopped ??= Task.Run(StopCoreAsync);
        }
    }

    private Task? _stopped;

    private async Task StopCoreAsync()
    {
        if (Aspire is not null)
        {
            Aspire.WriteConsoleLogs(Path.Combine(Projects.RepositoryInfo.Root, "artifacts", "logs", "apphost"));
            await Aspire.DisposeAsync();
        }
        Directory.Delete(Bucket, recursive: true);
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
