using System.Numerics.Tensors;

namespace Engine.Postprocessing;

public static class Softmax
{
    /// <summary>Writes softmax(<paramref name="logits"/>) to <paramref name="destination"/> (may be the same memory).</summary>
    /// <remarks>The maximum is subtracted first: TensorPrimitives.SoftMax alone overflows to NaN on logits near 100.</remarks>
    public static void Apply(ReadOnlySpan<float> logits, Span<float> destination)
    {
        if (logits.IsEmpty)
        {
            return;
        }

        var max = TensorPrimitives.Max(logits);
        TensorPrimitives.Subtract(logits, max, destination);
        TensorPrimitives.SoftMax(destination[..logits.Length], destination);
    }

    public static float[] Apply(ReadOnlySpan<float> logits)
    {
        var result = new float[logits.Length];
        Apply(logits, result);
        return result;
    }
}
