using Gateway.Jobs;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Gateway.Accounts;

/// <summary><c>POST /v1/accounts</c> (register), <c>POST /v1/keys</c> (another key), <c>DELETE /v1/keys/{id}</c> (revoke).</summary>
public static class AccountsApi
{
    public sealed record NewAccount(Guid AccountId, Guid KeyId, string ApiKey);

    public sealed record NewKey(Guid AccountId, Guid KeyId, string ApiKey);

    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/accounts", Register).AllowAnonymous();
        var keys = app.MapGroup("/v1/keys").RequireAuthorization();
        keys.MapPost("/", CreateKey);
        keys.MapDelete("/{id}", RevokeKey);
        return app;
    }

    private static async Task<IResult> Register(AccountStore store, IOptions<AccountsOptions> options, CancellationToken cancellationToken)
    {
        if (!options.Value.OpenRegistration)
        {
            return JobsApi.Problem(new SubmissionException(403, ProblemCodes.RegistrationClosed,
                "Registration is closed on this service; ask its operator for an account."));
        }
        return await Guard(async () =>
        {
            var (accountId, keyId, key) = await store.CreateAccountAsync(cancellationToken);
            return TypedResults.Json(new NewAccount(accountId, keyId, key), statusCode: StatusCodes.Status201Created);
        });
    }

    private static Task<IResult> CreateKey(HttpContext context, AccountStore store, CancellationToken cancellationToken) => Guard(async () =>
    {
        var accountId = context.User.AccountId();
        var (keyId, key) = await store.CreateKeyAsync(accountId, cancellationToken);
        return TypedResults.Json(new NewKey(accountId, keyId, key), statusCode: StatusCodes.Status201Created);
    });

    private static Task<IResult> RevokeKey(string id, HttpContext context, AccountStore store, ApiKeyCache cache, CancellationToken cancellationToken) => Guard(async () =>
    {
        if (!Guid.TryParse(id, out var keyId))
        {
            return JobsApi.Problem(new SubmissionException(400, ProblemCodes.InvalidKeyId, "A key id is a UUID, as POST /v1/keys returned it."));
        }
        // Another account's key is as unknown to the caller as one that does not exist.
        if (await store.RevokeKeyAsync(context.User.AccountId(), keyId, cancellationToken) is not { } hash)
        {
            return JobsApi.Problem(new SubmissionException(404, ProblemCodes.KeyNotFound, $"Your account has no live key '{id}'."));
        }
        await cache.RevokedAsync(hash);
        return TypedResults.NoContent();
    });

    private static async Task<IResult> Guard(Func<Task<IResult>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return JobsApi.Problem(new SubmissionException(503, ProblemCodes.AccountsUnavailable,
                "The accounts database is unavailable; retry shortly.", TimeSpan.FromSeconds(2)));
        }
    }
}
