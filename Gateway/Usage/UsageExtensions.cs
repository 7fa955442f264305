namespace Gateway.Usage;

public static class UsageExtensions
{
    /// <summary>
    /// The usage ledger: its writer (the Redis stream of usage events into PostgreSQL, on every replica), its queries, and
    /// the prices they are summed at (the <c>Usage</c> section).
    /// </summary>
    public static WebApplicationBuilder AddUsageLedger(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<UsageOptions>(builder.Configuration.GetSection(UsageOptions.Section));
        builder.Services.AddSingleton<UsageLedger>();
        builder.Services.AddSingleton(ServiceIdentity.From(builder.Configuration, "gateway"));
        builder.Services.AddHostedService<UsageWriter>();
        return builder;
    }
}
