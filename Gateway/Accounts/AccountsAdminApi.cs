using Gateway.Jobs;
using Microsoft.Extensions.Options;
using Npgsql;
using ServiceDefaults.Http;

namespace Gateway.Accounts;

/// <summary>
/// The operator's view of accounts, behind <c>X-Admin-Key</c> (<see cref="AccountsOptions.AdminKey"/>):
/// <c>GET</c> and <c>PUT /v1/admin/accounts/{id}/limits</c>. A change reaches every gateway at once.
/// </summary>
public static class AccountsAdminApi
{
    /// <summary>An account's own limits (null: the service's default) and those that hold for it.</summary>
    public sealed record LimitsView(Guid AccountId, AccountLimits Own, AccountLimits Effective);

    public static IEndpointRouteBuilder MapAccountsAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin").AllowAnonymous()
            .RequireAdminKey(services => services.GetRequiredService<IOptions<AccountsOptions>>().Value.AdminKey, "Accounts:AdminKey (environment Accounts__AdminKey)");
        admin.MapGet("/accounts/{id}/limits", GetLimits);
        admin.MapPut("/accounts/{id}/limits", SetLimits);
        return app;
    }

    private static Task<IResult> GetLimits(string id, AccountStore store, ApiKeyCache cache, CancellationToken cancellationToken) =>
        WithAccount(id, async accountId => await store.GetLimitsAsync(accountId, cancellationToken) is { } own
            ? TypedResults.Ok(await ViewAsync(accountId, own, cache, cancellationToken))
            : NotFound(id));

    private static Task<IResult> SetLimits(string id, AccountLimits? limits, AccountStore store, ApiKeyCache cache, CancellationToken cancellationToken) =>
        WithAccount(id, async accountId =>
        {
            if ((limits is null ? "Send the limits as JSON: {\"jobsPerSecond\": 5, \"burst\": 10, \"maxUnfinishedJobs\": 100} (null: the service's default)." : limits.Problem()) is { } problem)
            {
                return JobsApi.Problem(new SubmissionException(400, ProblemCodes.InvalidLimits, problem));
            }
            if (!await store.SetLimitsAsync(accountId, limits!, cancellationToken))
            {
                return NotFound(id);
            }
            await cache.LimitsChangedAsync(accountId);
            return TypedResults.Ok(await ViewAsync(accountId, limits!, cache, cancellationToken));
        });

    private static async Task<LimitsView> ViewAsync(Guid accountId, AccountLimits own, ApiKeyCache cache, CancellationToken cancellationToken)
    {
        var effective = await cache.LimitsAsync(accountId, cancellationToken);
        return new LimitsView(accountId, own, new AccountLimits
        {
            JobsPerSecond = effective.JobsPerSecond,
            Burst = effective.EffectiveBurst,
            MaxUnfinishedJobs = effective.MaxUnfinished,
        });
    }

    private static IResult NotFound(string id) =>
        JobsApi.Problem(new SubmissionException(404, ProblemCodes.AccountNotFound, $"There is no account '{id}'."));

    private static async Task<IResult> WithAccount(string id, Func<Guid, Task<IResult>> action)
    {
        if (!Guid.TryParse(id, out var accountId))
        {
            return JobsApi.Problem(new SubmissionException(400, ProblemCodes.InvalidAccountId, "An account id is a UUID, as POST /v1/accounts returned it."));
        }
        try
        {
            return await action(accountId);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return JobsApi.Problem(new SubmissionException(503, ProblemCodes.AccountsUnavailable,
                "The accounts database is unavailable; retry shortly.", TimeSpan.FromSeconds(2)));
        }
    }
}
