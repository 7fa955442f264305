namespace ModelSync.Models;

public static class ModelWatchExtensions
{
    /// <summary>The bucket watcher and the Redis state it keeps.</summary>
    public static IHostApplicationBuilder AddModelWatch(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<ModelStateStore>();
        builder.Services.AddSingleton<BucketWatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BucketWatcher>());
        return builder;
    }
}
