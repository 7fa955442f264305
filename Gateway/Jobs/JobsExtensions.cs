using Gateway.Hubs;
using Gateway.Messaging;
using Gateway.Models;
using Microsoft.AspNetCore.SignalR;
using ServiceDefaults.Jobs;
using ServiceDefaults.Push;

namespace Gateway.Jobs;

public static class JobsExtensions
{
    /// <summary>Everything that takes a job in and brings its result back: catalog, store, publisher, hub, waiters.</summary>
    public static WebApplicationBuilder AddJobPipeline(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<GatewayOptions>(builder.Configuration.GetSection(GatewayOptions.Section));
        builder.Services.Configure<JobQueueOptions>(builder.Configuration.GetSection(JobQueueOptions.Section));
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<JobStore>();
        builder.Services.AddSingleton<JobPublisher>();
        builder.Services.AddSingleton<ModelCatalog>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModelCatalog>());
        builder.Services.AddHealthChecks().AddCheck<ModelCatalogHealthCheck>("models");
        builder.Services.AddSingleton<JobSubmitter>();
        builder.Services.AddSingleton<JobCanceller>();
        builder.Services.AddSingleton<JobWaiters>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<JobWaiters>());
        builder.Services.AddSingleton<InferenceHubHandler>();
        builder.Services.AddSingleton<IInferenceHubHandler>(sp => sp.GetRequiredService<InferenceHubHandler>());
        builder.Services.AddHostedService<PushResync>();
        builder.Services.Configure<PushRecoveryOptions>(builder.Configuration.GetSection(PushRecoveryOptions.Section));
        builder.Services.AddHostedService<PushRecovery>();
        builder.Services.Configure<DeadlineSweepOptions>(builder.Configuration.GetSection(DeadlineSweepOptions.Section));
        builder.Services.AddHostedService<DeadlineSweeper>();

        var maxInput = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>()?.MaxInputBytes ?? new GatewayOptions().MaxInputBytes;
        // Kestrel's own cap sits above ours so oversized bodies get our problem+json 413, not a bare one.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = (long)maxInput * 2 + 1024 * 1024);
        builder.AddJobPush(); // ServiceDefaults/Push: SignalR and its Redis backplane, shared with the workers
        builder.Services.Configure<HubOptions>(o =>
        {
            // Inputs travel base64-encoded in the JSON protocol: 4/3 of the bytes plus the envelope (MessagePack needs less: raw bytes).
            o.MaximumReceiveMessageSize = (long)maxInput * 4 / 3 + 64 * 1024;
            o.EnableDetailedErrors = false;
        });
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = JobJson.Options.DefaultIgnoreCondition);
        return builder;
    }

    public static WebApplication MapInferenceHub(this WebApplication app)
    {
        // The key comes as ?access_token= (browsers) or Authorization: Bearer (the .NET client) on the negotiate and WebSocket requests.
        app.MapHub<InferenceHub>("/hubs/inference", o => o.AllowStatefulReconnects = true).RequireAuthorization();
        return app;
    }
}
