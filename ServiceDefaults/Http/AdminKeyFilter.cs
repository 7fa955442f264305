using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ServiceDefaults.Http;

/// <summary>
/// The services' operator APIs (ModelSync's <c>/admin</c>, the gateway's <c>/v1/admin</c>): every request sends the admin key
/// in <c>X-Admin-Key</c>, compared in constant time. Without a configured key the API is off (503 <c>admin_disabled</c>);
/// a missing or wrong key is 401 <c>admin_key_invalid</c>.
/// </summary>
public static class AdminKeyFilter
{
    public const string KeyHeader = "X-Admin-Key";

    /// <param name="configuredKey">Reads the configured key from the request's services (null or empty: the API is off).</param>
    /// <param name="setting">The setting that configures it, named in the 503's detail (e.g. <c>ModelSync__AdminKey</c>).</param>
    public static RouteGroupBuilder RequireAdminKey(this RouteGroupBuilder group, Func<IServiceProvider, string?> configuredKey, string setting) =>
        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var configured = configuredKey(http.RequestServices);
            if (string.IsNullOrEmpty(configured))
            {
                return TypedResults.Problem(
                    title: "The admin API is disabled",
                    detail: $"Set {setting} to enable it.",
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    extensions: new Dictionary<string, object?> { ["code"] = "admin_disabled" });
            }
            var given = http.Request.Headers[KeyHeader].ToString();
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(configured)))
            {
                return TypedResults.Problem(
                    title: "Admin key missing or wrong",
                    detail: $"Send the admin key in the {KeyHeader} header.",
                    statusCode: StatusCodes.Status401Unauthorized,
                    extensions: new Dictionary<string, object?> { ["code"] = "admin_key_invalid" });
            }
            return await next(context);
        });
}
