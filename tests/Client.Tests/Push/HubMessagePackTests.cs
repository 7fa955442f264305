using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contracts.Jobs;
using Contracts.Push;
using MessagePack;

namespace Client.Tests.Push;

/// <summary>The shared MessagePack options of the hub protocol (Contracts/Push): what a browser and a .NET peer read.</summary>
public sealed class HubMessagePackTests
{
    private static readonly MessagePackSerializerOptions Options = HubMessagePack.Options;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly JobRecord Succeeded = new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        Model = "ocr",
        Version = 2,
        Status = JobStatus.Succeeded,
        AcceptedAt = DateTimeOffset.Parse("2026-12-01T10:00:00.123+00:00", System.Globalization.CultureInfo.InvariantCulture),
        FinishedAt = DateTimeOffset.Parse("2026-12-01T10:00:00.456+00:00", System.Globalization.CultureInfo.InvariantCulture),
        Output = JsonDocument.Parse("""
            {"lines":[{"text":"Grüße, 世界","confidence":0.9871,"box":[[0,0],[120,0],[120,32],[0,32]],"angle":false}],
             "count":1,"big":18446744073709551615,"tiny":1E-07,"none":null,"nested":{"a":[true,{"b":[]}]}}
            """).RootElement.Clone(),
        Timings = new JobTimings(QueueMs: 1.5, ComputeMs: 12.25, TotalMs: 14, BatchSize: 3),
        Attempts = 1,
    };

    [Fact]
    public void Job_record_travels_as_the_messagepack_form_of_its_json()
    {
        var bytes = MessagePackSerializer.Serialize(Succeeded, Options, Ct);

        // What any MessagePack reader (a browser's) sees: the JSON object, camelCase, status as text, no nulls.
        var seen = JsonNode.Parse(MessagePackSerializer.ConvertToJson(bytes, cancellationToken: Ct));
        var json = JsonSerializer.SerializeToNode(Succeeded, HubMessagePack.JsonShape);
        Assert.True(JsonNode.DeepEquals(json, seen), $"{seen}\n!=\n{json}");
        Assert.Equal("succeeded", seen!["status"]!.GetValue<string>());
        Assert.False(seen.AsObject().ContainsKey("error"));

        var back = MessagePackSerializer.Deserialize<JobRecord>(bytes, Options, Ct);
        Assert.Equal(Succeeded with { Output = null }, back with { Output = null });
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Succeeded.Output!.Value.GetRawText()), JsonNode.Parse(back.Output!.Value.GetRawText())));
    }

    [Fact]
    public void Json_numbers_keep_their_kind_integers_as_integers_the_rest_as_doubles()
    {
        var output = JsonDocument.Parse("""[7, -3, 18446744073709551615, 0.5, 1E-07]""").RootElement;

        var reader = new MessagePackReader(MessagePackSerializer.Serialize(output, Options, Ct));

        Assert.Equal(5, reader.ReadArrayHeader());
        Assert.Equal((MessagePackType.Integer, 7L), (reader.NextMessagePackType, reader.ReadInt64()));
        Assert.Equal((MessagePackType.Integer, -3L), (reader.NextMessagePackType, reader.ReadInt64()));
        Assert.Equal((MessagePackType.Integer, ulong.MaxValue), (reader.NextMessagePackType, reader.ReadUInt64()));
        Assert.Equal((MessagePackType.Float, 0.5), (reader.NextMessagePackType, reader.ReadDouble()));
        Assert.Equal((MessagePackType.Float, 1e-7), (reader.NextMessagePackType, reader.ReadDouble()));
    }

    [Fact]
    public void An_image_travels_as_raw_bytes()
    {
        var image = new byte[100_000];

        var bytes = MessagePackSerializer.Serialize(image, Options, Ct);

        Assert.Equal(image.Length + 5, bytes.Length); // bin 32 header: 1 code byte + 4 length bytes
    }

    [Fact]
    public void Nesting_deeper_than_the_untrusted_data_limit_is_refused()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        for (var i = 0; i < 1000; i++)
        {
            writer.WriteArrayHeader(1);
        }
        writer.WriteNil();
        writer.Flush();

        Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<JsonElement>(buffer.WrittenMemory, Options, Ct));
    }

    [Fact]
    public void A_map_with_a_key_that_is_not_a_string_has_no_json_form()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(1);
        writer.Write(1);
        writer.Write("one");
        writer.Flush();

        Assert.Throws<MessagePackSerializationException>(() => MessagePackSerializer.Deserialize<JsonElement>(buffer.WrittenMemory, Options, Ct));
    }
}
