using ServiceDefaults.Caching;
using ServiceDefaults.Messaging;
using Worker.Heartbeats;
using Worker.Messaging;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("cache");
builder.AddRabbitMQClient("messaging");
builder.AddJobProcessing();        // Worker/Messaging/WorkerPipelineExtensions.cs
builder.AddWorkerHeartbeat();      // Worker/Heartbeats/WorkerHeartbeat.cs

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
