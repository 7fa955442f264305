// Writes small ONNX models (onnx.ModelProto) by hand with Google.Protobuf, for tests that need a real model of a known
// behaviour. One source, linked into Engine.Tests and Integration.Tests.
using System.Runtime.InteropServices;
using Google.Protobuf;

namespace TestSupport;

internal static class OnnxModels
{
    // TensorProto.DataType values.
    private const int Float = 1;
    private const int Int64 = 7;
    private const int Bool = 9;

    /// <summary>
    /// An image classifier: x [N,3,H,W] → GlobalAveragePool → Flatten → MatMul(weights [3,K]) → scores [N,K]. With the
    /// identity as weights, class c's score is the mean of normalized channel c, so the answer follows the image's colour.
    /// </summary>
    public static byte[] MeanColourClassifier(int height, int width, float[,] weights)
    {
        var classes = weights.GetLength(1);
        var flat = new float[3 * classes];
        for (var c = 0; c < 3; c++)
        {
            for (var k = 0; k < classes; k++)
            {
                flat[c * classes + k] = weights[c, k];
            }
        }

        return Model(Message(g =>
        {
            Node(g, "GlobalAveragePool", ["x"], ["pooled"]);
            Node(g, "Flatten", ["pooled"], ["flat"], Int("axis", 1));
            Node(g, "MatMul", ["flat", "w"], ["scores"]);
            Text(g, 2, "mean_colour");
            Initializer(g, "w", Float, MemoryMarshal.AsBytes(flat.AsSpan()).ToArray(), 3, classes);
            ValueInfo(g, 11, "x", Float, ["N", 3, height, width]);
            ValueInfo(g, 12, "scores", Float, ["N", classes]);
        }));
    }

    /// <summary>
    /// An image classifier x [N,3,8,8] → scores [N,3] whose scores pass through a Loop of 10^15 iterations (a counter seeded
    /// from the input, so ONNX Runtime cannot fold it away at load): loading is instant, every run computes for days.
    /// </summary>
    public static byte[] Hanging()
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

        return Model(Message(g =>
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
        }));
    }

    /// <summary>A ModelProto around <paramref name="graph"/>: IR version 8, default opset 13.</summary>
    private static byte[] Model(ByteString graph) => Message(m =>
    {
        m.WriteTag(1, WireFormat.WireType.Varint);
        m.WriteInt64(8);
        Text(m, 2, "TestSupport");
        m.WriteTag(7, WireFormat.WireType.LengthDelimited);
        m.WriteBytes(graph);
        m.WriteTag(8, WireFormat.WireType.LengthDelimited);
        m.WriteBytes(Message(o =>
        {
            o.WriteTag(2, WireFormat.WireType.Varint);
            o.WriteInt64(13);
        }));
    }).ToByteArray();

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

    /// <summary>A TensorProto initializer from its little-endian bytes (a scalar when no dims are given).</summary>
    private static void Initializer(CodedOutputStream graph, string name, int type, byte[] raw, params long[] dims)
    {
        graph.WriteTag(5, WireFormat.WireType.LengthDelimited);
        graph.WriteBytes(Message(t =>
        {
            foreach (var dim in dims)
            {
                t.WriteTag(1, WireFormat.WireType.Varint);
                t.WriteInt64(dim);
            }
            t.WriteTag(2, WireFormat.WireType.Varint);
            t.WriteInt32(type);
            Text(t, 8, name);
            t.WriteTag(9, WireFormat.WireType.LengthDelimited);
            t.WriteBytes(ByteString.CopyFrom(raw));
        }));
    }

    /// <summary>A tensor ValueInfoProto (field 11 input, 12 output); a string dimension is symbolic (dim_param).</summary>
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
