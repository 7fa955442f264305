// JSON values as native MessagePack values of the same shape, and back.
using System.Buffers;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;

namespace Contracts.Push;

/// <summary>
/// Maps JSON to MessagePack natively: object → map (string keys), array → array, string, number (an integer when it is
/// one, else a double), true/false, null. A binary value read back becomes a base64 string, as System.Text.Json writes
/// <c>byte[]</c>; an extension value has no JSON form and is refused.
/// </summary>
public static class MessagePackJson
{
    public static void Write(ref MessagePackWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in value.EnumerateObject())
                {
                    count++;
                }
                writer.WriteMapHeader(count);
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value);
                }
                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Write(ref writer, item);
                }
                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number:
                if (value.TryGetInt64(out var integer))
                {
                    writer.Write(integer);
                }
                else if (value.TryGetUInt64(out var large))
                {
                    writer.Write(large);
                }
                else
                {
                    writer.Write(value.GetDouble());
                }
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default: // Null, and Undefined (a default JsonElement)
                writer.WriteNil();
                break;
        }
    }

    public static void Read(ref MessagePackReader reader, Utf8JsonWriter json, MessagePackSerializerOptions options)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    json.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    json.WriteNumberValue(reader.ReadInt64());
                }
                break;
            case MessagePackType.Float:
                json.WriteNumberValue(reader.ReadDouble());
                break;
            case MessagePackType.String:
                json.WriteStringValue(ReadUtf8(ref reader));
                break;
            case MessagePackType.Binary:
                json.WriteBase64StringValue(reader.ReadBytes()!.Value.ToArray());
                break;
            case MessagePackType.Array:
                var length = reader.ReadArrayHeader();
                options.Security.DepthStep(ref reader);
                json.WriteStartArray();
                for (var i = 0; i < length; i++)
                {
                    Read(ref reader, json, options);
                }
                json.WriteEndArray();
                reader.Depth--;
                break;
            case MessagePackType.Map:
                var properties = reader.ReadMapHeader();
                options.Security.DepthStep(ref reader);
                json.WriteStartObject();
                for (var i = 0; i < properties; i++)
                {
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        throw new MessagePackSerializationException($"A map key is {reader.NextMessagePackType}; JSON objects have string keys only.");
                    }
                    json.WritePropertyName(ReadUtf8(ref reader));
                    Read(ref reader, json, options);
                }
                json.WriteEndObject();
                reader.Depth--;
                break;
            default:
                throw new MessagePackSerializationException($"A MessagePack {reader.NextMessagePackType} value has no JSON form.");
        }
    }

    private static ReadOnlySpan<byte> ReadUtf8(ref MessagePackReader reader)
    {
        var utf8 = reader.ReadStringSequence()!.Value;
        return utf8.IsSingleSegment ? utf8.FirstSpan : utf8.ToArray();
    }

    /// <summary>Reads one MessagePack value as the UTF-8 JSON text of the same shape.</summary>
    public static ReadOnlyMemory<byte> ReadUtf8(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            Read(ref reader, json, options);
        }
        return buffer.WrittenMemory;
    }
}

/// <summary>A <see cref="JsonElement"/> (a job's output) as the MessagePack value of the same shape.</summary>
public sealed class JsonElementFormatter : IMessagePackFormatter<JsonElement>
{
    public static readonly JsonElementFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options) =>
        MessagePackJson.Write(ref writer, value);

    public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var json = new Utf8JsonReader(MessagePackJson.ReadUtf8(ref reader, options).Span);
        return JsonElement.ParseValue(ref json);
    }
}

/// <summary>
/// Any other type as the MessagePack form of its System.Text.Json form: one definition of the wire shape (names, enum
/// strings, ISO timestamps, nulls left out) for both hub protocols.
/// </summary>
public sealed class JsonShapedFormatter<T>(JsonSerializerOptions json) : IMessagePackFormatter<T>
{
    public void Serialize(ref MessagePackWriter writer, T value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        MessagePackJson.Write(ref writer, JsonSerializer.SerializeToElement(value, json));
    }

    public T Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        reader.TryReadNil() ? default! : JsonSerializer.Deserialize<T>(MessagePackJson.ReadUtf8(ref reader, options).Span, json)!;
}
