using System.Text.Json;

namespace Client;

/// <summary>Settings of an <see cref="InferenceClient"/>.</summary>
public sealed class InferenceClientOptions
{
    /// <summary>Handler for REST calls and the hub's negotiate request (tests, proxies); the client disposes it.</summary>
    public Func<HttpMessageHandler>? HttpMessageHandlerFactory { get; set; }

    /// <summary>
    /// Delays before each reconnect attempt once the hub connection is lost. After a reconnect — possibly to
    /// another gateway replica — the client subscribes again to every job it is still waiting for.
    /// </summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } =
        [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    /// <summary>Timeout of one REST request (a long-poll adds its wait on top).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

    internal static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);
}
