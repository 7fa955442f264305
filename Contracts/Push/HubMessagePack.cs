using System.Text.Json;
using System.Text.Json.Serialization;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace Contracts.Push;

/// <summary>
/// The serializer options of the MessagePack hub protocol, the same for every party (gateway, worker, .NET client).
/// Strings, numbers and <c>byte[]</c> (an image: raw bytes, the point of the protocol) are native MessagePack; job
/// records and options take the shape of their JSON (camelCase names, <c>"status": "queued"</c>, ISO timestamps, nulls
/// left out), mapped natively, so a browser reads the same objects over either protocol.
/// </summary>
public static class HubMessagePack
{
    /// <summary>The JSON shape: the web defaults without nulls, as job records are stored and served.</summary>
    public static JsonSerializerOptions JsonShape { get; } = CreateJsonShape();

    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create(BuiltinResolver.Instance, JsonShapedResolver.Instance))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    private static JsonSerializerOptions CreateJsonShape()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Everything the built-in formatters leave: <see cref="JsonElement"/> natively, the rest JSON-shaped.</summary>
    private sealed class JsonShapedResolver : IFormatterResolver
    {
        public static readonly JsonShapedResolver Instance = new();

        public IMessagePackFormatter<T>? GetFormatter<T>() => Cache<T>.Formatter;

        private static class Cache<T>
        {
            public static readonly IMessagePackFormatter<T> Formatter = typeof(T) == typeof(JsonElement)
                ? (IMessagePackFormatter<T>)(object)JsonElementFormatter.Instance
                : new JsonShapedFormatter<T>(JsonShape);
        }
    }
}
