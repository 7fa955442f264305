using Gateway.Jobs;
using Gateway.Oip;
using ServiceDefaults.Configuration;
using ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
if (RequiredConnections.Missing(builder.Configuration, "cache", "messaging") is { } missing) // ServiceDefaults/Configuration
{
    Console.Error.WriteLine($"gateway: {missing}");
    return 1;
}
builder.AddServiceDefaults();
builder.AddRedisClient("cache");
builder.AddRabbitMQClient("messaging", configureConnectionFactory: RabbitMQDefaults.Configure);
builder.AddJobPipeline();          // Gateway/Jobs/JobsExtensions.cs

var app = builder.Build();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();              // wwwroot: the browser client
app.MapDefaultEndpoints();
app.MapJobsApi();                  // Gateway/Jobs/JobsApi.cs
app.MapInferenceHub();             // Gateway/Hubs/InferenceHub.cs
app.MapOpenInferenceApi();         // Gateway/Oip/OpenInferenceApi.cs
app.Run();
return 0;
