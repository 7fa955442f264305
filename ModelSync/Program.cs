using ModelSync.Bucket;
using ServiceDefaults.Caching;
using ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("cache");
builder.AddRabbitMQClient("messaging");
builder.AddModelBucket("models");

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
