using Engine.Onnx;

namespace Engine.Tests.Onnx;

/// <summary>Element types other than float32 cross the boundary intact (single-node ONNX test models).</summary>
public sealed class ElementTypeTests
{
    private static InferenceSession LoadNodeTest(string name) =>
        InferenceSession.Load(Path.Combine(ConformanceTests.NodeTestsRoot, name, "model.onnx"), new SessionOptions { IntraOpThreads = 1 });

    [Fact]
    public void Float16_output_holds_the_rounded_halves()
    {
        using var session = LoadNodeTest("test_cast_FLOAT_to_FLOAT16");
        var input = session.Inputs[0];
        var values = new float[] { 0.1f, -2.5f, 65504f, 1e-8f };

        using var outputs = session.Run([new(input.Name, TensorData.Create(values, 4, 1).Reshaped(input))]);

        var halves = outputs[0].Tensor;
        Assert.Equal(TensorElementType.Float16, halves.ElementType);
        Assert.Equal(values.Select(v => (Half)v), halves.ToArray<Half>().Take(4));
    }

    [Fact]
    public void Float16_input_widens_to_float()
    {
        using var session = LoadNodeTest("test_cast_FLOAT16_to_FLOAT");
        var input = session.Inputs[0];
        var halves = new[] { (Half)0.5f, (Half)(-3f), Half.MaxValue, (Half)0.1f };

        using var outputs = session.Run([new(input.Name, TensorData.Create(halves, 4, 1).Reshaped(input))]);

        Assert.Equal(halves.Select(h => (float)h), outputs[0].Tensor.ToArray<float>().Take(4));
    }

    [Fact]
    public void Bools_are_negated_element_by_element()
    {
        using var session = LoadNodeTest("test_not_2d");
        var input = session.Inputs[0];
        var count = (int)input.Shape.Aggregate(1L, (a, b) => a * b);
        var values = Enumerable.Range(0, count).Select(i => i % 3 == 0).ToArray();

        using var outputs = session.Run([new(input.Name, TensorData.Create(values, [.. input.Shape]))]);

        Assert.Equal(values.Select(v => !v), outputs[0].Tensor.ToArray<bool>());
    }

    [Fact]
    public void Uint8_addition_wraps_around()
    {
        using var session = LoadNodeTest("test_add_uint8");
        var shape = session.Inputs[0].Shape.ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var left = Enumerable.Range(0, count).Select(i => (byte)(200 + i % 50)).ToArray();
        var right = Enumerable.Repeat((byte)100, count).ToArray();

        using var outputs = session.Run([
            new(session.Inputs[0].Name, TensorData.Create(left, shape)),
            new(session.Inputs[1].Name, TensorData.Create(right, shape))]);

        Assert.Equal(left.Select(l => unchecked((byte)(l + 100))), outputs[0].Tensor.ToArray<byte>());
    }

    [Fact]
    public void Sequence_inputs_are_declared_but_rejected_with_a_clear_message()
    {
        using var session = LoadNodeTest("test_identity_sequence");
        var input = session.Inputs[0];
        Assert.Equal(OnnxValueType.Sequence, input.ValueType);

        var error = Assert.Throws<ModelInputException>(() =>
            session.Run([new(input.Name, TensorData.Create(new float[] { 1 }, 1))]));

        Assert.Equal($"input '{input.Name}' is a sequence, which this binding cannot pass.", error.Message);
    }
}

internal static class TensorDataTestExtensions
{
    /// <summary>Pads or reshapes a small tensor to the model's fixed input shape (test data helper).</summary>
    public static TensorData Reshaped(this TensorData tensor, NodeInfo input)
    {
        var shape = input.Shape.Select(d => d < 0 ? 1 : d).ToArray();
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        var bytes = new byte[count * tensor.ElementType.ElementSize()];
        tensor.AsBytes()[..Math.Min(bytes.Length, tensor.AsBytes().Length)].CopyTo(bytes);
        return TensorData.FromBytes(tensor.ElementType, bytes, shape);
    }
}
