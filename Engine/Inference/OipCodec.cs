using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Engine.Onnx;

namespace Engine.Inference;

/// <summary>A malformed Open Inference Protocol request; the message says what is wrong (OIP answers it with 400).</summary>
public sealed class OipRequestException(string message) : Exception(message);

/// <summary>One input of an OIP request: a numeric tensor, or BYTES elements (e.g. an image).</summary>
public sealed record OipInput(string Name, long[] Shape, string Datatype, TensorData? Tensor, IReadOnlyList<byte[]>? Bytes);

public sealed record OipRequest(string? Id, IReadOnlyList<OipInput> Inputs, IReadOnlyList<string>? OutputNames);

/// <summary>
/// Reads and writes the JSON form of the Open Inference Protocol v2 (KServe / Triton): tensors are
/// row-major, <c>data</c> flat or nested, datatypes FP32 FP16 FP64 INT8…INT64 UINT8…UINT64 BOOL BYTES.
/// </summary>
public static class OipCodec
{
    public const int MaxNestingDepth = 32;
    public const long MaxElements = 64L * 1024 * 1024;

    public static OipRequest Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return ParseDocument(json);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException or OverflowException)
        {
            // e.g. a string that is not valid UTF-8: still the caller's malformed request, never a server error.
            throw new OipRequestException($"The request is malformed: {e.Message}");
        }
    }

    private static OipRequest ParseDocument(ReadOnlySpan<byte> json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = MaxNestingDepth + 8 });
        }
        catch (JsonException e)
        {
            throw new OipRequestException($"The body is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new OipRequestException("The request must be a JSON object with an \"inputs\" array.");
            }
            string? id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
            if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array || inputs.GetArrayLength() == 0)
            {
                throw new OipRequestException("\"inputs\" must be a non-empty array.");
            }
            var parsed = new List<OipInput>();
            foreach (var input in inputs.EnumerateArray())
            {
                parsed.Add(ParseInput(input, parsed.Count));
            }
            List<string>? outputs = null;
            if (root.TryGetProperty("outputs", out var outputsElement) && outputsElement.ValueKind == JsonValueKind.Array)
            {
                outputs = [];
                foreach (var output in outputsElement.EnumerateArray())
                {
                    outputs.Add(output.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String
                        ? n.GetString()!
                        : throw new OipRequestException("Each requested output needs a \"name\"."));
                }
            }
            return new OipRequest(id, parsed, outputs);
        }
    }

    private static OipInput ParseInput(JsonElement input, int index)
    {
        if (input.ValueKind != JsonValueKind.Object)
        {
            throw new OipRequestException($"inputs[{index}] must be an object.");
        }
        var name = input.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } s
            ? s : throw new OipRequestException($"inputs[{index}] needs a \"name\".");
        var datatype = input.TryGetProperty("datatype", out var d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()!.ToUpperInvariant() : throw new OipRequestException($"Input '{name}' needs a \"datatype\".");
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new OipRequestException($"Input '{name}' needs a \"shape\" array.");
        }
        var shape = new long[shapeElement.GetArrayLength()];
        long count = 1;
        var i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var v) || v < 0)
            {
                throw new OipRequestException($"Input '{name}': shape values are non-negative integers.");
            }
            shape[i++] = v;
            count = v == 0 ? 0 : count > MaxElements / v ? MaxElements + 1 : count * v;
        }
        if (count > MaxElements)
        {
            throw new OipRequestException($"Input '{name}' has more than {MaxElements} elements.");
        }
        if (!input.TryGetProperty("data", out var data))
        {
            throw new OipRequestException($"Input '{name}' needs \"data\".");
        }
        var flat = new List<JsonElement>((int)Math.Min(count, 1 << 20));
        Flatten(data, flat, 0, name);
        if (flat.Count != count)
        {
            throw new OipRequestException($"Input '{name}': shape [{string.Join(",", shape)}] holds {count} elements but data has {flat.Count}.");
        }
        if (datatype == "BYTES")
        {
            return new OipInput(name, shape, datatype, null, flat.Select((e, k) => BytesOf(e, name, k)).ToList());
        }
        var type = ElementTypeOf(datatype) ?? throw new OipRequestException(
            $"Input '{name}': datatype '{datatype}' is not one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES.");
        return new OipInput(name, shape, datatype, ToTensor(type, flat, shape, name), null);
    }

    private static void Flatten(JsonElement element, List<JsonElement> into, int depth, string name)
    {
        if (depth > MaxNestingDepth)
        {
            throw new OipRequestException($"Input '{name}': data is nested deeper than {MaxNestingDepth} levels.");
        }
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Flatten(item, into, depth + 1, name);
                if (into.Count > MaxElements)
                {
                    throw new OipRequestException($"Input '{name}' has more than {MaxElements} elements.");
                }
            }
        }
        else
        {
            into.Add(element);
        }
    }

    private static byte[] BytesOf(JsonElement e, string name, int index) => e.ValueKind switch
    {
        // Images travel as base64 strings; a plain string is taken as its UTF-8 bytes when it is not base64.
        JsonValueKind.String => TryBase64(e.GetString()!) ?? System.Text.Encoding.UTF8.GetBytes(e.GetString()!),
        _ => throw new OipRequestException($"Input '{name}': BYTES element {index} must be a string."),
    };

    private static byte[]? TryBase64(string s)
    {
        var buffer = new byte[s.Length * 3 / 4 + 3];
        return Convert.TryFromBase64String(s, buffer, out var written) ? buffer[..written] : null;
    }

    public static TensorElementType? ElementTypeOf(string datatype) => datatype switch
    {
        "FP32" => TensorElementType.Float,
        "FP16" => TensorElementType.Float16,
        "FP64" => TensorElementType.Double,
        "INT8" => TensorElementType.Int8,
        "INT16" => TensorElementType.Int16,
        "INT32" => TensorElementType.Int32,
        "INT64" => TensorElementType.Int64,
        "UINT8" => TensorElementType.UInt8,
        "UINT16" => TensorElementType.UInt16,
        "UINT32" => TensorElementType.UInt32,
        "UINT64" => TensorElementType.UInt64,
        "BOOL" => TensorElementType.Bool,
        _ => null,
    };

    public static string DatatypeOf(TensorElementType type) => type switch
    {
        TensorElementType.Float => "FP32",
        TensorElementType.Float16 => "FP16",
        TensorElementType.Double => "FP64",
        TensorElementType.Int8 => "INT8",
        TensorElementType.Int16 => "INT16",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int64 => "INT64",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.UInt16 => "UINT16",
        TensorElementType.UInt32 => "UINT32",
        TensorElementType.UInt64 => "UINT64",
        TensorElementType.Bool => "BOOL",
        TensorElementType.String => "BYTES",
        _ => type.ToString().ToUpperInvariant(),
    };

    private static TensorData ToTensor(TensorElementType type, List<JsonElement> flat, long[] shape, string name)
    {
        var size = type.ElementSize();
        var bytes = new byte[flat.Count * size];
        var span = bytes.AsSpan();
        for (var k = 0; k < flat.Count; k++)
        {
            var e = flat[k];
            var slot = span.Slice(k * size, size);
            try
            {
                switch (type)
                {
                    case TensorElementType.Bool:
                        slot[0] = e.ValueKind switch
                        {
                            JsonValueKind.True => 1,
                            JsonValueKind.False => 0,
                            _ => throw new OipRequestException($"Input '{name}': element {k} is not true/false."),
                        };
                        break;
                    case TensorElementType.Float:
                        BinaryPrimitives.WriteSingleLittleEndian(slot, (float)Number(e).GetDouble());
                        break;
                    case TensorElementType.Double:
                        BinaryPrimitives.WriteDoubleLittleEndian(slot, Number(e).GetDouble());
                        break;
                    case TensorElementType.Float16:
                        BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)Number(e).GetDouble());
                        break;
                    case TensorElementType.Int8:
                        slot[0] = (byte)Number(e).GetSByte();
                        break;
                    case TensorElementType.UInt8:
                        slot[0] = Number(e).GetByte();
                        break;
                    case TensorElementType.Int16:
                        BinaryPrimitives.WriteInt16LittleEndian(slot, Number(e).GetInt16());
                        break;
                    case TensorElementType.UInt16:
                        BinaryPrimitives.WriteUInt16LittleEndian(slot, Number(e).GetUInt16());
                        break;
                    case TensorElementType.Int32:
                        BinaryPrimitives.WriteInt32LittleEndian(slot, Number(e).GetInt32());
                        break;
                    case TensorElementType.UInt32:
                        BinaryPrimitives.WriteUInt32LittleEndian(slot, Number(e).GetUInt32());
                        break;
                    case TensorElementType.Int64:
                        BinaryPrimitives.WriteInt64LittleEndian(slot, Number(e).GetInt64());
                        break;
                    case TensorElementType.UInt64:
                        BinaryPrimitives.WriteUInt64LittleEndian(slot, Number(e).GetUInt64());
                        break;
                }
            }
            catch (FormatException)
            {
                throw new OipRequestException($"Input '{name}': element {k} ({e.GetRawText()}) does not fit {DatatypeOf(type)}.");
            }
        }
        return TensorData.FromBytes(type, bytes, shape);

        JsonElement Number(JsonElement e) => e.ValueKind == JsonValueKind.Number
            ? e
            : throw new OipRequestException($"Input '{name}': data holds {e.ValueKind.ToString().ToLowerInvariant()} where a number belongs.");
    }

    /// <summary>Writes model outputs as OIP output tensors (flat data).</summary>
    public static void WriteOutputs(Utf8JsonWriter writer, SessionOutputs outputs)
    {
        writer.WriteStartArray("outputs");
        foreach (var (name, tensor) in outputs)
        {
            writer.WriteStartObject();
            writer.WriteString("name", name);
            writer.WriteString("datatype", DatatypeOf(tensor.ElementType));
            writer.WriteStartArray("shape");
            foreach (var dim in tensor.Shape)
            {
                writer.WriteNumberValue(dim);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("data");
            WriteData(writer, tensor);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static void WriteData(Utf8JsonWriter writer, TensorData tensor)
    {
        switch (tensor.ElementType)
        {
            case TensorElementType.Float:
                foreach (var v in tensor.AsSpan<float>())
                {
                    WriteSingle(writer, v);
                }
                break;
            case TensorElementType.Double:
                foreach (var v in tensor.AsSpan<double>())
                {
                    WriteFloat(writer, v);
                }
                break;
            case TensorElementType.Float16:
                foreach (var v in tensor.AsSpan<Half>())
                {
                    WriteSingle(writer, (float)v);
                }
                break;
            case TensorElementType.Bool:
                foreach (var v in tensor.AsSpan<bool>())
                {
                    writer.WriteBooleanValue(v);
                }
                break;
            case TensorElementType.Int8:
                foreach (var v in tensor.AsSpan<sbyte>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.UInt8:
                foreach (var v in tensor.AsSpan<byte>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.Int16:
                foreach (var v in tensor.AsSpan<short>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.UInt16:
                foreach (var v in tensor.AsSpan<ushort>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.Int32:
                foreach (var v in tensor.AsSpan<int>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.UInt32:
                foreach (var v in tensor.AsSpan<uint>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.Int64:
                foreach (var v in tensor.AsSpan<long>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            case TensorElementType.UInt64:
                foreach (var v in tensor.AsSpan<ulong>())
                {
                    writer.WriteNumberValue(v);
                }
                break;
            default:
                throw new NotSupportedException($"Output type {tensor.ElementType} cannot be written as OIP JSON.");
        }
    }

    private static void WriteSingle(Utf8JsonWriter writer, float v)
    {
        if (float.IsFinite(v))
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
        }
    }

    // JSON has no NaN/Infinity: OIP servers write them as strings, as Triton does.
    private static void WriteFloat(Utf8JsonWriter writer, double v)
    {
        if (double.IsFinite(v))
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
        }
    }
}
