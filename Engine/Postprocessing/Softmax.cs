using System.Numerics.Tensors;

namespace Engine.Postprocessing;

public static class Softmax
{
    /// <summary>Writes softmax(<paramref name="logits"/>) to <paramref name="destination"/> (may be the same memory).</summary>
    public static void Apply(ReadOnlySpan<float> logits, Span<float> destination) => TensorPrimitives.SoftMax(logits, destination);

    public static float[] Apply(ReadOnlySpan<float> logits)
    {
        var result = new float[logits.Length];
        Apply(logits, result);
        return result;
    }
}
