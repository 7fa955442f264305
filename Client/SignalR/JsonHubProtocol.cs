// Encodes and decodes the messages of the SignalR JSON hub protocol (HubProtocol.md, version 1).
using System.Buffers;
using System.Text.Json;

namespace Client.SignalR;

internal enum HubMessageType
{
    Invocation = 1,
    StreamItem = 2,
    Completion = 3,
    StreamInvocation = 4,
    CancelInvocation = 5,
    Ping = 6,
    Close = 7,
    Ack = 8,
    Sequence = 9,
}

internal static class JsonHubProtocol
{
    public static ReadOnlySpan<byte> HandshakeRequest => """{"protocol":"json","version":1}"""u8;

    public static void WriteInvocation(
        Utf8JsonWriter writer, string? invocationId, string target, object?[] arguments, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("type"u8, (int)HubMessageType.Invocation);
        if (invocationId is not null)
        {
            writer.WriteString("invocationId"u8, invocationId);
        }

        writer.WriteString("target"u8, target);
        writer.WriteStartArray("arguments"u8);
        foreach (var argument in arguments)
        {
            JsonSerializer.Serialize(writer, argument, argument?.GetType() ?? typeof(object), options);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteCancelInvocation(Utf8JsonWriter writer, string invocationId)
    {
        writer.WriteStartObject();
        writer.WriteNumber("type"u8, (int)HubMessageType.CancelInvocation);
        writer.WriteString("invocationId"u8, invocationId);
        writer.WriteEndObject();
    }

    public static void WriteCompletionError(Utf8JsonWriter writer, string invocationId, string error)
    {
        writer.WriteStartObject();
        writer.WriteNumber("type"u8, (int)HubMessageType.Completion);
        writer.WriteString("invocationId"u8, invocationId);
        writer.WriteString("error"u8, error);
        writer.WriteEndObject();
    }

    public static void WritePing(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("type"u8, (int)HubMessageType.Ping);
        writer.WriteEndObject();
    }

    public static void WriteClose(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteNumber("type"u8, (int)HubMessageType.Close);
        writer.WriteEndObject();
    }

    /// <summary>Reads the handshake response; returns the server's error, or null when accepted.</summary>
    public static string? ReadHandshakeResponse(ReadOnlyMemory<byte> record)
    {
        using var document = JsonDocument.Parse(record);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("The handshake response is not a JSON object.");
        }

        return document.RootElement.TryGetProperty("error"u8, out var error) ? error.GetString() ?? "(no message)" : null;
    }

    /// <summary>The message type of a parsed record, or throws on a malformed one.</summary>
    public static HubMessageType ReadType(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("type"u8, out var type)
            || !type.TryGetInt32(out var value))
        {
            throw new InvalidDataException("A hub message has no numeric 'type' property.");
        }

        return (HubMessageType)value;
    }

    public static string? GetString(JsonElement root, ReadOnlySpan<byte> name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Writes a message followed by the record separator.</summary>
    public static void Terminate(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = RecordBuffer.Separator;
        output.Advance(1);
    }
}
