// The HTTP negotiate step of TransportProtocols.md: picks the connection token and follows redirects.
using System.Net.Http.Headers;
using System.Text.Json;

namespace Client.SignalR;

internal sealed record Negotiation(Uri Url, string? ConnectionId, string? ConnectionToken, string? AccessToken);

internal static class Negotiator
{
    private const int MaxRedirects = 100;

    public static async Task<Negotiation> NegotiateAsync(
        HttpClient http, Uri hubUrl, HubConnectionOptions options, CancellationToken cancellationToken)
    {
        var url = hubUrl;
        var accessToken = options.AccessTokenProvider is null ? null : await options.AccessTokenProvider();

        for (var redirect = 0; redirect <= MaxRedirects; redirect++)
        {
            var negotiateUrl = GetNegotiateUrl(url);
            using var request = new HttpRequestMessage(HttpMethod.Post, negotiateUrl);
            foreach (var (name, value) in options.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            if (accessToken is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException(
                    $"Negotiation with '{negotiateUrl}' failed: {(int)response.StatusCode} {response.ReasonPhrase}.",
                    inner: null,
                    response.StatusCode);
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            var root = document.RootElement;

            if (JsonHubProtocol.GetString(root, "error"u8) is { } error)
            {
                throw new HubException($"Negotiation with '{negotiateUrl}' was refused: {error}");
            }

            if (JsonHubProtocol.GetString(root, "url"u8) is { } redirectUrl)
            {
                // A redirect (e.g. Azure SignalR Service) names the real endpoint and the token to use there.
                url = new Uri(redirectUrl);
                accessToken = JsonHubProtocol.GetString(root, "accessToken"u8);
                continue;
            }

            if (!SupportsWebSockets(root))
            {
                throw new NotSupportedException(
                    $"The server at '{negotiateUrl}' does not offer the WebSockets transport with the Text format.");
            }

            var connectionId = JsonHubProtocol.GetString(root, "connectionId"u8);
            var negotiateVersion = root.TryGetProperty("negotiateVersion"u8, out var version) ? version.GetInt32() : 0;
            var connectionToken = negotiateVersion >= 1 ? JsonHubProtocol.GetString(root, "connectionToken"u8) : connectionId;
            return new Negotiation(url, connectionId, connectionToken, accessToken);
        }

        throw new HubException($"Negotiation with '{hubUrl}' exceeded {MaxRedirects} redirects.");
    }

    public static Uri GetNegotiateUrl(Uri hubUrl)
    {
        var builder = new UriBuilder(hubUrl);
        builder.Path = builder.Path.TrimEnd('/') + "/negotiate";
        builder.Query = AppendQuery(builder.Query, "negotiateVersion=1");
        return builder.Uri;
    }

    public static Uri GetWebSocketUrl(Uri hubUrl, string? connectionToken)
    {
        var builder = new UriBuilder(hubUrl)
        {
            Scheme = hubUrl.Scheme switch
            {
                "https" or "wss" => "wss",
                "http" or "ws" => "ws",
                var other => throw new NotSupportedException($"Unsupported hub URL scheme '{other}'."),
            },
        };
        if (connectionToken is not null)
        {
            builder.Query = AppendQuery(builder.Query, "id=" + Uri.EscapeDataString(connectionToken));
        }

        return builder.Uri;
    }

    private static string AppendQuery(string query, string parameter) =>
        query.Length > 1 ? query.TrimStart('?') + "&" + parameter : parameter;

    private static bool SupportsWebSockets(JsonElement root)
    {
        if (!root.TryGetProperty("availableTransports"u8, out var transports) || transports.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var transport in transports.EnumerateArray())
        {
            if (JsonHubProtocol.GetString(transport, "transport"u8) == "WebSockets"
                && transport.TryGetProperty("transferFormats"u8, out var formats)
                && formats.EnumerateArray().Any(f => f.ValueKind == JsonValueKind.String && f.ValueEquals("Text"u8)))
            {
                return true;
            }
        }

        return false;
    }
}
