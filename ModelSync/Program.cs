using ModelSync.Admin;
using ModelSync.Bucket;
using ModelSync.Models;
using ModelSync.Rollout;
using ServiceDefaults.Caching;
using ServiceDefaults.Configuration;
using ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
if (RequiredConnections.Missing(builder.Configuration, "cache", "messaging") is { } missing) // ServiceDefaults/Configuration
{
    Console.Error.WriteLine($"modelsync: {missing}");
    return 1;
}
builder.AddServiceDefaults();
builder.AddRedisClient("cache", configureOptions: RedisDefaults.Configure);
builder.AddRabbitMQClient("messaging", configureConnectionFactory: RabbitMQDefaults.Configure);
builder.AddModelBucket("models");      // ModelSync/Bucket/ModelBucketExtensions.cs
builder.AddModelWatch();               // ModelSync/Models/ModelWatchExtensions.cs
builder.AddRollouts();                 // ModelSync/Rollout/RolloutCoordinator.cs
builder.Services.AddSingleton<JobQueueDepth>(); // ModelSync/Admin/JobQueueDepth.cs: the admin API's queue lengths

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapModelAdminApi();                // ModelSync/Admin/ModelAdminApi.cs
app.Run();
return 0;
