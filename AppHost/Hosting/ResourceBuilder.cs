namespace AppHost.Hosting;

/// <summary>Aspire's fluent handle on a resource in the application graph.</summary>
public interface IResourceBuilder<out T> where T : IResource
{
    T Resource { get; }

    DistributedApplicationBuilder ApplicationBuilder { get; }
}

internal sealed class ResourceBuilder<T>(T resource, DistributedApplicationBuilder applicationBuilder) : IResourceBuilder<T>
    where T : IResource
{
    public T Resource { get; } = resource;

    public DistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;
}

public static class ResourceBuilderExtensions
{
    /// <summary>Injects <c>ConnectionStrings__{name}</c> of <paramref name="source"/>.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithConnectionString> source)
        where T : ExecutableResource
    {
        builder.Resource.References.Add(source.Resource);
        return builder;
    }

    /// <summary>Injects <c>services__{name}__http__{i}</c> for every replica of <paramref name="service"/> (service discovery).</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<ProjectResource> service)
        where T : ExecutableResource
    {
        builder.Resource.ServiceReferences.Add(service.Resource);
        return builder;
    }

    /// <summary>Starts this resource only once <paramref name="dependency"/> is running and healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : ExecutableResource
    {
        builder.Resource.WaitsFor.Add(dependency.Resource);
        return builder;
    }

    public static IResourceBuilder<T> WithReplicas<T>(this IResourceBuilder<T> builder, int replicas)
        where T : ExecutableResource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Replicas = replicas;
        return builder;
    }

    /// <summary>Lets replicas be added and removed while the application runs (dashboard +/−), up to <paramref name="maxReplicas"/>.</summary>
    public static IResourceBuilder<T> WithScaling<T>(this IResourceBuilder<T> builder, int maxReplicas)
        where T : ExecutableResource
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxReplicas, 1);
        builder.Resource.MaxReplicas = maxReplicas;
        return builder;
    }

    /// <summary>Serves HTTP on <paramref name="port"/> (replica i on port + i), or on an ephemeral port when null or 0.</summary>
    public static IResourceBuilder<T> WithHttpEndpoint<T>(this IResourceBuilder<T> builder, int? port)
        where T : ExecutableResource
    {
        builder.Resource.HasHttpEndpoint = true;
        builder.Resource.Port = port is > 0 ? port : null;
        return builder;
    }

    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value)
        where T : ExecutableResource
    {
        builder.Resource.Environment[name] = value;
        return builder;
    }

    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args)
        where T : ExecutableResource
    {
        builder.Resource.Args.AddRange(args);
        return builder;
    }

    public static IResourceBuilder<T> WithReadiness<T>(this IResourceBuilder<T> builder, ReadinessProbe probe)
        where T : ExecutableResource
    {
        builder.Resource.Readiness = probe;
        return builder;
    }
}
