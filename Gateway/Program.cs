using Gateway.Accounts;
using Gateway.Jobs;
using Gateway.Oip;
using Gateway.Usage;
using ServiceDefaults.Caching;
using ServiceDefaults.Configuration;
using ServiceDefaults.Messaging;

var builder = WebApplication.CreateBuilder(args);
if (RequiredConnections.Missing(builder.Configuration, "cache", "messaging", "accounts") is { } missing) // ServiceDefaults/Configuration
{
    Console.Error.WriteLine($"gateway: {missing}");
    return 1;
}
builder.AddServiceDefaults();
builder.AddRedisClient("cache", configureOptions: RedisDefaults.Configure);
builder.AddRabbitMQClient("messaging", configureConnectionFactory: RabbitMQDefaults.Configure);
builder.AddNpgsqlDataSource("accounts");
builder.AddAccounts();             // Gateway/Accounts/AccountsExtensions.cs
builder.AddJobPipeline();          // Gateway/Jobs/JobsExtensions.cs
builder.AddUsageLedger();          // Gateway/Usage/UsageExtensions.cs

var app = builder.Build();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();              // wwwroot: the browser client
app.MapDefaultEndpoints();         // its exception handler wraps all that follows; /health and /alive need no key
app.UseAuthentication();           // API keys: Gateway/Accounts/ApiKeyAuthentication.cs
app.UseAuthorization();
app.MapAccountsApi();              // Gateway/Accounts/AccountsApi.cs
app.MapAccountsAdminApi();         // Gateway/Accounts/AccountsAdminApi.cs
app.MapJobsApi();                  // Gateway/Jobs/JobsApi.cs
app.MapInferenceHub();             // Gateway/Hubs/InferenceHub.cs
app.MapOpenInferenceApi();         // Gateway/Oip/OpenInferenceApi.cs
app.MapUsageApi();                 // Gateway/Usage/UsageApi.cs
app.Run();
return 0;
