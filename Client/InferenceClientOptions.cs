using System.Text.Json;

namespace Client;

/// <summary>The hub protocol an <see cref="InferenceClient"/> speaks; the gateway serves both.</summary>
public enum HubProtocol
{
    /// <summary>SignalR's JSON protocol: text frames, an image travels base64-encoded (4/3 of its size).</summary>
    Json,

    /// <summary>SignalR's MessagePack protocol: binary frames, an image travels as its raw bytes.</summary>
    MessagePack,
}

/// <summary>Settings of an <see cref="InferenceClient"/>.</summary>
public sealed class InferenceClientOptions
{
    /// <summary>The environment variable the CLI reads the API key from when <c>--api-key</c> is not given.</summary>
    public const string ApiKeyVariable = "ASPIRE_INFERENCE_API_KEY";

    /// <summary>
    /// The account's API key, sent on every call: <c>Authorization: Bearer</c> on REST calls and on the hub's WebSocket
    /// (SignalR's <c>AccessTokenProvider</c>). Null sends none (a gateway that requires keys answers 401).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Handler for REST calls (tests, proxies); the client disposes it. The hub's WebSocket connects on its own.</summary>
    public Func<HttpMessageHandler>? HttpMessageHandlerFactory { get; set; }

    /// <summary>
    /// Delays before each reconnect attempt once the hub connection is lost. After a reconnect — possibly to
    /// another gateway replica — the client subscribes again to every job it is still waiting for.
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } =
        [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    /// <summary>The hub protocol: MessagePack by default (an image travels as its raw bytes; README "Hub protocols" has the numbers).</summary>
    public HubProtocol Protocol { get; set; } = HubProtocol.MessagePack;

    /// <summary>Timeout of one REST request (a long-poll adds its wait on top).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    internal static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);
}
