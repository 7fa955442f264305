using System.Security.Cryptography;
using System.Text;

namespace AppHost.Dashboard;

/// <summary>
/// Aspire-style sign-in: the browser token printed on the console is exchanged once at
/// <c>/login?t=…</c> for an HTTP-only cookie; every other path needs that cookie.
/// </summary>
internal sealed class DashboardSignIn(DashboardOptions options)
{
    public const string CookieName = "aspire-inference-dashboard";

    public string Token { get; } = string.IsNullOrEmpty(options.BrowserToken)
        ? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))
        : options.BrowserToken;

    // The cookie carries a value derived from the token, so the token itself never sits in the cookie jar.
    private readonly string _session = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public bool IsEnabled => !options.Unsecured;

    public bool IsSignedIn(HttpContext context) =>
        !IsEnabled
        || (context.Request.Cookies.TryGetValue(CookieName, out var value) && FixedTimeEquals(value, _session));

    public bool TrySignIn(HttpContext context, string? token)
    {
        if (token is null || !FixedTimeEquals(token, Token))
        {
            return false;
        }
        context.Response.Cookies.Append(CookieName, _session, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
        });
        return true;
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
