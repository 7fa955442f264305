namespace AppHost.Resources;

public static class WorkerExtensions
{
    /// <summary>
    /// The workers: one <c>worker</c> resource of <see cref="AppHostSettings.Workers"/> CPU replicas, or with
    /// <c>--gpus 0,1</c> one resource per GPU (<c>worker-gpu0</c>, <c>worker-gpu1</c>), each on CUDA with its own
    /// <c>Worker__DeviceId</c>. A resource per GPU because <c>WithReplicas(n)</c> gives every replica the same environment:
    /// the device id has to differ, so the replicas cannot be one resource. Each also stays one row on the dashboard
    /// that names its GPU, with its own restart policy and logs.
    /// </summary>
    public static IReadOnlyList<IResourceBuilder<ProjectResource>> AddWorkers(this IDistributedApplicationBuilder builder,
        AppHostSettings settings, IResourceBuilder<IResourceWithConnectionString> cache,
        IResourceBuilder<IResourceWithConnectionString> messaging, IResourceBuilder<IResourceWithConnectionString> models)
    {
        var gpus = settings.GpuWorkers;
        if (gpus.Count == 0)
        {
            return [AddWorker(builder, "worker", settings.Workers, settings, cache, messaging, models)];
        }
        return
        [
            .. gpus.Select(gpu => AddWorker(builder, $"worker-gpu{gpu.DeviceId}", gpu.Replicas, settings, cache, messaging, models)
                .WithEnvironment("Worker__ExecutionProvider", "cuda")
                .WithEnvironment("Worker__DeviceId", gpu.DeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture))),
        ];
    }

    private static IResourceBuilder<ProjectResource> AddWorker(IDistributedApplicationBuilder builder, string name, int replicas,
        AppHostSettings settings, IResourceBuilder<IResourceWithConnectionString> cache,
        IResourceBuilder<IResourceWithConnectionString> messaging, IResourceBuilder<IResourceWithConnectionString> models)
    {
        var worker = builder.AddProject<Projects.Worker>(name)
            .WithHttpEndpoint()
            .WithHttpHealthCheck("/health")
            .WithReference(cache).WithReference(messaging).WithReference(models)
            .WaitFor(cache).WaitFor(messaging).WaitFor(models)
            .WithReplicas(replicas)
            .WithRestartPolicy(livenessPath: "/alive");
        if (builder.ExecutionContext.IsRunMode)
        {
            // Replicas share one cache of fetched versions (each file checked against its sha256 once).
            worker.WithEnvironment("Worker__CacheDirectory", Path.Combine(settings.RunFolder, "worker-model-cache"));
        }
        return worker;
    }
}
