// Writes an ONNX model (onnx.ModelProto, by hand with Google.Protobuf) that never finishes: a real model for the hang test.
using Google.Protobuf;

namespace Integration.Tests;

/// <summary>
/// An image classifier x [N,3,8,8] → scores [N,3] whose scores pass through a Loop of 10^15 iterations (a counter seeded
/// from the input, so ONNX Runtime cannot fold it away at load): loading is instant, every run computes for days.
/// </summary>
internal static class HangingModel
{
    private const int Float = 1;
    private const int Int64 = 7;
    private const int Bool = 9;

    public static byte[] Build()
    {
        var body = Message(g =>
        {
            Node(g, "Identity", ["cond_in"], ["cond_out"]);
            Node(g, "Add", ["v_in", "one"], ["v_out"]);
            Text(g, 2, "count_forever");
            Initializer(g, "one", Float, BitConverter.GetBytes(1f));
            ValueInfo(g, 11, "i", Int64, []);
            ValueInfo(g, 11, "cond_in", Bool, []);
            ValueInfo(g, 11, "v_in", Float, []);
            ValueInfo(g, 12, "cond_out", Bool, []);
            ValueInfo(g, 12, "v_out", Float, []);
        });

        var graph = Message(g =>
        {
            Node(g, "ReduceMean", ["x"], ["seed"], Int("keepdims", 0));
            Node(g, "Loop", ["trips", "go", "seed"], ["counted"], Graph("body", body));
            Node(g, "GlobalAveragePool", ["x"], ["pooled"]);
            Node(g, "Flatten", ["pooled"], ["flat"], Int("axis", 1));
            Node(g, "Add", ["flat", "counted"], ["scores"]);
            Text(g, 2, "hanging");
            Initializer(g, "trips", Int64, BitConverter.GetBytes(1_000_000_000_000_000L));
            Initializer(g, "go", Bool, [1]);
            ValueInfo(g, 11, "x", Float, ["N", 3, 8, 8]);
            ValueInfo(g, 12, "scores", Float, ["N", 3]);
        });

        return Message(m =>
        {
            m.WriteTag(1, WireFormat.WireType.Varint);
            m.WriteInt64(8); // IR version 8
            Text(m, 2, "Integration.Tests");
            m.WriteTag(7, WireFormat.WireType.LengthDelimited);
            m.WriteBytes(graph);
            m.WriteTag(8, WireFormat.WireType.LengthDelimited);
            m.WriteBytes(Message(o =>
            {
                o.WriteTag(2, WireFormat.WireType.Varint);
                o.WriteInt64(13);
            }));
        }).ToByteArray();
    }

    private static ByteString Message(Action<CodedOutputStream> write)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        write(output);
        output.Flush();
        return ByteString.CopyFrom(stream.ToArray());
    }

    private static void Text(CodedOutputStream output, int field, string value)
    {
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteString(value);
    }

    /// <summary>An AttributeProto of type INT.</summary>
    private static ByteString Int(string name, long value) => Message(a =>
    {
        Text(a, 1, name);
        a.WriteTag(3, WireFormat.WireType.Varint);
        a.WriteInt64(value);
        a.WriteTag(20, WireFormat.WireType.Varint);
        a.WriteInt32(2);
    });

    /// <summary>An AttributeProto of type GRAPH.</summary>
    private static ByteString Graph(string name, ByteString graph) => Message(a =>
    {
        Text(a, 1, name);
        a.WriteTag(6, WireFormat.WireType.LengthDelimited);
        a.WriteBytes(graph);
        a.WriteTag(20, WireFormat.WireType.Varint);
        a.WriteInt32(5);
    });

    private static void Node(CodedOutputStream graph, string op, string[] inputs, string[] outputs, params ByteString[] attributes)
    {
        graph.WriteTag(1, WireFormat.WireType.LengthDelimited);
        graph.WriteBytes(Message(n =>
        {
            foreach (var input in inputs)
            {
                Text(n, 1, input);
            }
            foreach (var output in outputs)
            {
                Text(n, 2, output);
            }
            Text(n, 4, op);
            foreach (var attribute in attributes)
            {
                n.WriteTag(5, WireFormat.WireType.LengthDelimited);
                n.WriteBytes(attribute);
            }
        }));
    }

    /// <summary>A scalar TensorProto initializer from its little-endian bytes.</summary>
    private static void Initializer(CodedOutputStream graph, string name, int type, byte[] raw)
    {
        graph.WriteTag(5, WireFormat.WireType.LengthDelimited);
        graph.WriteBytes(Message(t =>
        {
            t.WriteTag(2, WireFormat.WireType.Varint);
            t.WriteInt32(type);
            Text(t, 8, name);
            t.WriteTag(9, WireFormat.WireType.LengthDelimited);
            t.WriteBytes(ByteString.CopyFrom(raw));
        }));
    }

    /// <summary>A tensor ValueInfoProto (field 11 input, 12 output); a string dimension is symbolic.</summary>
    private static void ValueInfo(CodedOutputStream graph, int field, string name, int type, object[] dims)
    {
        graph.WriteTag(field, WireFormat.WireType.LengthDelimited);
        graph.WriteBytes(Message(v =>
        {
            Text(v, 1, name);
            v.WriteTag(2, WireFormat.WireType.LengthDelimited);
            v.WriteBytes(Message(typeProto =>
            {
                typeProto.WriteTag(1, WireFormat.WireType.LengthDelimited);
                typeProto.WriteBytes(Message(tensor =>
                {
                    tensor.WriteTag(1, WireFormat.WireType.Varint);
                    tensor.WriteInt32(type);
                    tensor.WriteTag(2, WireFormat.WireType.LengthDelimited);
                    tensor.WriteBytes(Message(shape =>
                    {
                        foreach (var dim in dims)
                        {
                            shape.WriteTag(1, WireFormat.WireType.LengthDelimited);
                            shape.WriteBytes(Message(d =>
                            {
                                if (dim is string symbol)
                                {
                                    Text(d, 2, symbol);
                                }
                                else
                                {
                                    d.WriteTag(1, WireFormat.WireType.Varint);
                                    d.WriteInt64((int)dim);
                                }
                            }));
                        }
                    }));
                }));
            }));
        }));
    }
}
