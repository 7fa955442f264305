using Engine.Onnx;

namespace Engine.Tests.Onnx;

/// <summary>Managed tensors handed to ONNX Runtime: what a pooled, longer-than-needed buffer exposes.</summary>
public sealed class TensorDataTests
{
    [Fact]
    public void A_tensor_over_the_start_of_a_longer_buffer_is_only_its_shape()
    {
        var buffer = new float[10];
        buffer.AsSpan().Fill(9);
        new float[] { 1, 2, 3, 4, 5, 6 }.CopyTo(buffer, 0);

        var tensor = TensorData.Create(new ArraySegment<float>(buffer, 0, 6), 2, 3);

        Assert.Equal(6, tensor.ElementCount);
        Assert.Equal([1f, 2, 3, 4, 5, 6], tensor.ToArray<float>());
        Assert.Equal(24, tensor.AsBytes().Length);
        var shapeMismatch = Assert.Throws<ArgumentException>(() => TensorData.Create(new ArraySegment<float>(buffer, 0, 6), 2, 2));
        Assert.Contains("holds 4 elements but the segment has 6", shapeMismatch.Message);
        Assert.Throws<ArgumentException>(() => TensorData.Create(new ArraySegment<float>(buffer, 1, 6), 2, 3));
    }
}
