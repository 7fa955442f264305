namespace Gateway.Accounts;

public static class AccountsExtensions
{
    /// <summary>
    /// Accounts and API keys in PostgreSQL (<c>ConnectionStrings__accounts</c>, through Aspire.Npgsql's data source): the
    /// schema's migrations at start, the in-memory key cache, and the <c>ApiKey</c> authentication scheme.
    /// </summary>
    public static WebApplicationBuilder AddAccounts(this WebApplicationBuilder builder)
    {
        builder.Services.Configure<AccountsOptions>(builder.Configuration.GetSection(AccountsOptions.Section));
        builder.Services.AddSingleton<AccountStore>();
        builder.Services.AddHostedService<AccountsSchema>();
        builder.Services.AddSingleton<ApiKeyCache>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ApiKeyCache>());
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, _ => { });
        builder.Services.AddAuthorization();
        return builder;
    }
}
