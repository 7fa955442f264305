using System.Net.WebSockets;
using System.Text.Json;

namespace Client.SignalR;

/// <summary>Settings of a <see cref="HubConnection"/>; defaults match the stock SignalR clients.</summary>
public sealed class HubConnectionOptions
{
    /// <summary>Client used for the negotiate request. Not disposed by the connection.</summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>Handler for the negotiate request when <see cref="HttpClient"/> is not set.</summary>
    public Func<HttpMessageHandler>? HttpMessageHandlerFactory { get; set; }

    /// <summary>Extra headers sent with the negotiate request and the WebSocket upgrade.</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Called before each connect; a non-null token is sent as <c>Authorization: Bearer</c>.</summary>
    public Func<Task<string?>>? AccessTokenProvider { get; set; }

    /// <summary>Last chance to tune the WebSocket (proxy, certificates, sub-options) before it connects.</summary>
    public Action<ClientWebSocketOptions>? ConfigureWebSocket { get; set; }

    /// <summary>Connect the WebSocket straight to the hub URL, without negotiating (server must allow it).</summary>
    public bool SkipNegotiation { get; set; }

    /// <summary>A Ping is sent when nothing else was sent for this long.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The server is considered gone when nothing was received for this long.</summary>
    public TimeSpan ServerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Serializer for arguments and results; web defaults (camelCase, case-insensitive reads).</summary>
    public JsonSerializerOptions JsonSerializerOptions { get; set; } = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// Delays before each reconnect attempt after the connection is lost; empty (the default) means no
    /// automatic reconnect. A reconnected connection is a new server connection: groups and server-side
    /// subscriptions must be re-established by the application (handle <see cref="HubConnection.Reconnected"/>).
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } = [];
}
