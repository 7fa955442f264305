// Writes small ONNX models (onnx.ModelProto) by hand with Google.Protobuf, for tests that need a model of a known answer.
using Google.Protobuf;

namespace Engine.Tests.Inference;

internal static class OnnxModelBuilder
{
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

        var graph = Message(g =>
        {
            Node(g, "GlobalAveragePool", ["x"], ["pooled"]);
            Node(g, "Flatten", ["pooled"], ["flat"], ("axis", 1));
            Node(g, "MatMul", ["flat", "w"], ["scores"]);
            g.WriteTag(2, WireFormat.WireType.LengthDelimited);
            g.WriteString("mean_colour");
            g.WriteTag(5, WireFormat.WireType.LengthDelimited);
            g.WriteBytes(Message(t =>
            {
                t.WriteTag(1, WireFormat.WireType.Varint);
                t.WriteInt64(3);
                t.WriteTag(1, WireFormat.WireType.Varint);
                t.WriteInt64(classes);
                t.WriteTag(2, WireFormat.WireType.Varint);
                t.WriteInt32(1); // FLOAT
                t.WriteTag(8, WireFormat.WireType.LengthDelimited);
                t.WriteString("w");
                t.WriteTag(9, WireFormat.WireType.LengthDelimited);
                t.WriteBytes(ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(flat.AsSpan())));
            }));
            ValueInfo(g, 11, "x", ["N", 3, height, width]);
            ValueInfo(g, 12, "scores", ["N", classes]);
        });

        return Message(m =>
        {
            m.WriteTag(1, WireFormat.WireType.Varint);
            m.WriteInt64(8); // IR version 8
            m.WriteTag(2, WireFormat.WireType.LengthDelimited);
            m.WriteString("Engine.Tests");
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

    private static void Node(CodedOutputStream graph, string op, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes)
    {
        graph.WriteTag(1, WireFormat.WireType.LengthDelimited);
        graph.WriteBytes(Message(n =>
        {
            foreach (var input in inputs)
            {
                n.WriteTag(1, WireFormat.WireType.LengthDelimited);
                n.WriteString(input);
            }

            foreach (var output in outputs)
            {
                n.WriteTag(2, WireFormat.WireType.LengthDelimited);
                n.WriteString(output);
            }

            n.WriteTag(4, WireFormat.WireType.LengthDelimited);
            n.WriteString(op);
            foreach (var (name, value) in attributes)
            {
                n.WriteTag(5, WireFormat.WireType.LengthDelimited);
                n.WriteBytes(Message(a =>
                {
                    a.WriteTag(1, WireFormat.WireType.LengthDelimited);
                    a.WriteString(name);
                    a.WriteTag(3, WireFormat.WireType.Varint);
                    a.WriteInt64(value);
                    a.WriteTag(20, WireFormat.WireType.Varint);
                    a.WriteInt32(2); // AttributeType INT
                }));
            }
        }));
    }

    /// <summary>A float tensor ValueInfoProto; a string dimension is symbolic (dim_param).</summary>
    private static void ValueInfo(CodedOutputStream graph, int field, string name, object[] dims)
    {
        graph.WriteTag(field, WireFormat.WireType.LengthDelimited);
        graph.WriteBytes(Message(v =>
        {
            v.WriteTag(1, WireFormat.WireType.LengthDelimited);
            v.WriteString(name);
            v.WriteTag(2, WireFormat.WireType.LengthDelimited);
            v.WriteBytes(Message(type => // TypeProto
            {
                type.WriteTag(1, WireFormat.WireType.LengthDelimited);
                type.WriteBytes(Message(tensor => // TypeProto.Tensor
                {
                    tensor.WriteTag(1, WireFormat.WireType.Varint);
                    tensor.WriteInt32(1); // FLOAT
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
                                    d.WriteTag(2, WireFormat.WireType.LengthDelimited);
                                    d.WriteString(symbol);
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
