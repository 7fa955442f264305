using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace Client;

/// <summary>
/// The gateway refused a request: its problem+json (REST) or hub error, as a stable <see cref="Code"/> and a sentence.
/// <see cref="Status"/> is the HTTP status, null for hub errors.
/// </summary>
public sealed class InferenceApiException(int? status, string code, string detail, TimeSpan? retryAfter = null, Exception? innerException = null)
    : Exception(detail, innerException)
{
    public int? Status { get; } = status;

    public string Code { get; } = code;

    public string Detail { get; } = detail;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>Reads a failed HTTP answer: problem+json when the gateway sent one, otherwise the status line.</summary>
    public static async Task<InferenceApiException> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var status = (int)response.StatusCode;
        var retryAfter = RetryAfterOf(response.Headers.RetryAfter);
        string? code = null, detail = null, title = null;
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (body.Length > 0 && response.Content.Headers.ContentType?.MediaType is { } mediaType && mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var problem = JsonDocument.Parse(body);
                if (problem.RootElement.ValueKind == JsonValueKind.Object)
                {
                    code = StringProperty(problem.RootElement, "code");
                    detail = StringProperty(problem.RootElement, "detail");
                    title = StringProperty(problem.RootElement, "title");
                }
            }
            catch (JsonException)
            {
                // Not a problem document after all: fall back to the status line.
            }
        }
        return new InferenceApiException(
            status,
            code ?? $"http_{status}",
            detail ?? title ?? $"The gateway answered {status} {response.ReasonPhrase}.",
            retryAfter);
    }

    /// <summary>Reads a hub error, which the server frames as "… HubException: code: message".</summary>
    public static InferenceApiException FromHubException(HubException error)
    {
        const string marker = "HubException: ";
        var text = error.Message;
        var at = text.IndexOf(marker, StringComparison.Ordinal);
        var rest = at >= 0 ? text[(at + marker.Length)..] : text;
        var colon = rest.IndexOf(": ", StringComparison.Ordinal);
        var looksLikeCode = colon > 0 && rest[..colon].All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
        return looksLikeCode
            ? new InferenceApiException(null, rest[..colon], rest[(colon + 2)..], innerException: error)
            : new InferenceApiException(null, "hub_error", rest, innerException: error);
    }

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static TimeSpan? RetryAfterOf(RetryConditionHeaderValue? header) => header switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };
}
