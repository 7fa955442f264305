using ServiceDefaults.Caching;
using ServiceDefaults.Configuration;
using ServiceDefaults.Messaging;
using Worker.Heartbeats;
using Worker.Inference;
using Worker.Messaging;

var builder = WebApplication.CreateBuilder(args);
if (ExecutionProviderCheck.Problem(builder.Configuration) is { } problem) // Worker/Inference/ExecutionProviderCheck.cs
{
    Console.Error.WriteLine(problem);
    return 1;
}
if (RequiredConnections.Missing(builder.Configuration, "cache", "messaging") is { } missing) // ServiceDefaults/Configuration
{
    Console.Error.WriteLine($"worker: {missing}");
    return 1;
}
builder.AddServiceDefaults();
builder.AddRedisClient("cache", configureOptions: RedisDefaults.Configure);
builder.AddRabbitMQClient("messaging", configureConnectionFactory: RabbitMQDefaults.Configure);
builder.AddJobProcessing();        // Worker/Messaging/WorkerPipelineExtensions.cs
builder.AddWorkerHeartbeat();      // Worker/Heartbeats/WorkerHeartbeat.cs

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
return 0;
