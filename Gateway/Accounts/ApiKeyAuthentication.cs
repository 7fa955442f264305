using System.Security.Claims;
using System.Text.Encodings.Web;
using Gateway.Jobs;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Gateway.Accounts;

/// <summary>
/// Who is calling: <c>Authorization: Bearer &lt;key&gt;</c> on any request, or on the hub also <c>?access_token=&lt;key&gt;</c>
/// (SignalR's convention: browsers cannot set headers on a WebSocket). A key is checked against <see cref="ApiKeyCache"/>,
/// in memory after its first use. Without a key that works the answer is 401 problem+json <c>unauthenticated</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyCache keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    public const string AccountIdClaim = "account_id";

    public const string KeyIdClaim = "key_id";

    private const string HubPath = "/hubs";

    private bool _storeDown;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = ReadKey(Request);
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }
        if (key.Length > ApiKeys.MaxLength)
        {
            return AuthenticateResult.Fail("The API key is not valid.");
        }
        ApiKeyOwner? owner;
        try
        {
            owner = await keys.FindAsync(key, Context.RequestAborted);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            _storeDown = true;
            return AuthenticateResult.Fail(e);
        }
        if (owner is null)
        {
            return AuthenticateResult.Fail("The API key is not valid (unknown or revoked).");
        }
        var identity = new ClaimsIdentity(
            [new Claim(AccountIdClaim, owner.AccountId.ToString()), new Claim(KeyIdClaim, owner.KeyId.ToString())], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var problem = _storeDown
            ? new SubmissionException(503, ProblemCodes.AccountsUnavailable, "The accounts database is unavailable; retry shortly.", TimeSpan.FromSeconds(2))
            : new SubmissionException(401, ProblemCodes.Unauthenticated,
                ReadKey(Request) is null
                    ? "Send an API key: Authorization: Bearer <key> (the hub also takes ?access_token=<key>). POST /v1/accounts registers one."
                    : "The API key is not valid (unknown or revoked).");
        if (!_storeDown)
        {
            Response.Headers.WWWAuthenticate = "Bearer";
        }
        await JobsApi.Problem(problem).ExecuteAsync(Context);
    }

    private static string? ReadKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim() is { Length: > 0 } key ? key : null;
        }
        return request.Path.StartsWithSegments(HubPath) && request.Query["access_token"].ToString() is { Length: > 0 } token ? token : null;
    }
}

public static class AccountClaims
{
    /// <summary>The caller's account (only on endpoints that require an authenticated caller).</summary>
    public static Guid AccountId(this ClaimsPrincipal user) =>
        Guid.Parse(user.FindFirst(ApiKeyAuthenticationHandler.AccountIdClaim)?.Value ?? throw new InvalidOperationException("no authenticated account"));

    /// <summary>The caller's account as a job's owner, or null for an anonymous caller.</summary>
    public static string? Owner(this ClaimsPrincipal? user) => user?.FindFirst(ApiKeyAuthenticationHandler.AccountIdClaim)?.Value;
}
