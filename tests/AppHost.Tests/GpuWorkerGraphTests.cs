// `--gpus` as the AppHost builds it: the graph is only built and read here, never started (no GPU on these machines).
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using TestSupport;

namespace AppHost.Tests;

public sealed class GpuWorkerGraphTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Gpus_switch_makes_one_cuda_worker_per_device_each_with_its_own_device_id()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--gpus", "0,1", "--AppHost:GatewayPort=0", $"--AppHost:RunDirectory={AspireSystem.NewRunDirectory("apphost-gpus")}"], Ct);
        var projects = builder.Resources.OfType<ProjectResource>().ToDictionary(r => r.Name);

        Assert.Equal(["gateway", "modelsync", "worker-gpu0", "worker-gpu1"], projects.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, device) in new[] { ("worker-gpu0", "0"), ("worker-gpu1", "1") })
        {
            var worker = projects[name];
            Assert.Equal(1, worker.GetReplicaCount());
            var env = await EnvironmentAsync(builder, worker);
            Assert.Equal("cuda", env["Worker__ExecutionProvider"]);
            Assert.Equal(device, env["Worker__DeviceId"]);
            // Wired like the CPU worker: the same servers, the same shared model cache, a restart policy.
            Assert.All(new[] { "ConnectionStrings__cache", "ConnectionStrings__messaging", "ConnectionStrings__models", "Worker__CacheDirectory" },
                key => Assert.Contains(key, env.Keys));
            Assert.Single(worker.Annotations.OfType<AppHost.Resources.RestartPolicyAnnotation>());
            Assert.True(worker.TryGetAnnotationsOfType<WaitAnnotation>(out var waits) && waits.Any(w => w.Resource.Name == "cache"));
        }
        Assert.False((await EnvironmentAsync(builder, projects["gateway"])).ContainsKey("Worker__ExecutionProvider"));
    }

    [Fact]
    public async Task Without_gpus_the_workers_are_cpu_replicas_of_one_resource()
    {
        await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--workers", "3", "--AppHost:GatewayPort=0", $"--AppHost:RunDirectory={AspireSystem.NewRunDirectory("apphost-cpu")}"], Ct);

        var worker = Assert.Single(builder.Resources.OfType<ProjectResource>(), r => r.Name.StartsWith("worker", StringComparison.Ordinal));
        Assert.Equal("worker", worker.Name);
        Assert.Equal(3, worker.GetReplicaCount());
        var env = await EnvironmentAsync(builder, worker);
        Assert.False(env.ContainsKey("Worker__ExecutionProvider"), "a CPU worker names no execution provider (cpu is its default)");
        Assert.False(env.ContainsKey("Worker__DeviceId"));
    }

    [Fact]
    public void An_id_listed_twice_gets_two_replicas_on_that_gpu()
    {
        var settings = new AppHostSettings { Gpus = "1, 0,1" };

        settings.Validate();

        Assert.Equal([(1, 2), (0, 1)], settings.GpuWorkers);
    }

    [Theory]
    [InlineData("0,x")]
    [InlineData("-1")]
    [InlineData("0,,1")]
    public void Gpus_that_are_not_device_ids_are_refused_in_one_line(string gpus)
    {
        var error = Assert.Throws<ArgumentException>(() => new AppHostSettings { Gpus = gpus }.Validate());

        Assert.Equal($"--gpus takes CUDA device ids separated by commas (e.g. 0,1), not '{gpus}'.", error.Message);
    }

    /// <summary>
    /// The literal values the resource's environment callbacks set (references stay unresolved: nothing is allocated
    /// because nothing starts).
    /// </summary>
    private static async Task<Dictionary<string, object>> EnvironmentAsync(IDistributedApplicationTestingBuilder builder, IResourceWithEnvironment resource)
    {
        var env = new Dictionary<string, object>(StringComparer.Ordinal);
        var context = new EnvironmentCallbackContext(builder.ExecutionContext, resource, env, Ct);
        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        return env.ToDictionary(p => p.Key, p => p.Value is string s ? s : p.Value, StringComparer.Ordinal);
    }
}
