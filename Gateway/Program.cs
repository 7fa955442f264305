using ServiceDefaults.Caching;
using ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddRedisClient("cache");
builder.AddRabbitMQClient("messaging");

var app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
