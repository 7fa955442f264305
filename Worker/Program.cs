using ServiceDefaults.Caching;
using ServiceDefaults.Messaging;
using Worker.Heartbeats;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("cache");
builder.AddRabbitMQClient("messaging");
builder.AddWorkerHeartbeat();

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
