using Engine.Onnx;

namespace Engine.Tests.Onnx;

/// <summary>The PP-OCR direction classifier (models/ocr-cls) run through the binding.</summary>
public sealed class OcrClassifierSessionTests : IDisposable
{
    private readonly InferenceSession _session = InferenceSession.Load(TestPaths.OcrClassifier, new SessionOptions { IntraOpThreads = 1 });

    public void Dispose() => _session.Dispose();

    [Fact]
    public void Metadata_declares_one_float_nchw_input_with_three_channels_and_a_two_class_output()
    {
        var input = Assert.Single(_session.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal(OnnxValueType.Tensor, input.ValueType);
        Assert.Equal(TensorElementType.Float, input.ElementType);
        Assert.Equal([-1L, 3, -1, -1], input.Shape);
        // Paddle2ONNX exports batch, height and width as named dynamic dimensions, so 48x192 is a convention of
        // the preprocessing, not a constraint ONNX Runtime enforces.
        Assert.Equal(["p2o.DynamicDimension.0", "", "p2o.DynamicDimension.1", "p2o.DynamicDimension.2"], input.SymbolicDimensions);

        var output = Assert.Single(_session.Outputs);
        Assert.Equal(TensorElementType.Float, output.ElementType);
        Assert.Equal(2, output.Shape.Count);
        Assert.Equal(2, output.Shape[1]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Batch_of_identical_images_gives_identical_probability_rows(int batch)
    {
        var pixels = ConstantImages(batch, 0.25f);

        using var outputs = _session.Run([new("x", TensorData.Create(pixels, batch, 3, 48, 192))]);

        var probabilities = outputs[0].Tensor;
        Assert.Equal([batch, 2L], probabilities.Shape);
        var values = probabilities.AsSpan<float>();
        for (var row = 0; row < batch; row++)
        {
            Assert.Equal(1f, values[row * 2] + values[row * 2 + 1], 1e-4f);
            Assert.Equal(values[0], values[row * 2]);
            Assert.Equal(values[1], values[row * 2 + 1]);
        }
    }

    [Fact]
    public void Different_images_in_one_batch_get_their_own_rows()
    {
        var pixels = new float[2 * 3 * 48 * 192];
        var half = pixels.Length / 2;
        for (var i = 0; i < half; i++)
        {
            pixels[i] = (i % 192) / 192f;                 // a gradient
            pixels[half + i] = ((i / 192) % 2 == 0) ? 1f : -1f;  // stripes
        }

        using var batched = _session.Run([new("x", TensorData.Create(pixels, 2, 3, 48, 192))]);
        using var second = _session.Run([new("x", TensorData.Create(pixels[half..], 1, 3, 48, 192))]);

        var rows = batched[0].Tensor.ToArray<float>();
        var alone = second[0].Tensor.ToArray<float>();
        Assert.Equal(alone[0], rows[2], 1e-5f);
        Assert.Equal(alone[1], rows[3], 1e-5f);
    }

    [Fact]
    public void Output_can_be_read_in_place_while_the_outputs_are_alive()
    {
        using var outputs = _session.Run([new("x", TensorData.Create(ConstantImages(3, 0.5f), 3, 3, 48, 192))]);
        var name = _session.Outputs[0].Name;

        var inPlace = outputs.GetSpan<float>(name).ToArray();
        var (elementType, shape) = outputs.GetTypeAndShape(name);

        Assert.Equal(TensorElementType.Float, elementType);
        Assert.Equal([3L, 2], shape);
        Assert.Equal(outputs[name].ToArray<float>(), inPlace);
        Assert.Throws<InvalidOperationException>(() => outputs.GetSpan<double>(name).Length);
    }

    [Fact]
    public void Copied_outputs_stay_readable_after_the_outputs_are_disposed()
    {
        TensorData copy;
        using (var outputs = _session.Run([new("x", TensorData.Create(ConstantImages(1, 0f), 1, 3, 48, 192))]))
        {
            copy = outputs[0].Tensor;
            Assert.Throws<ObjectDisposedException>(() => { outputs.Dispose(); _ = outputs.GetSpan<float>(outputs.Names[0]).Length; });
        }

        Assert.Equal(1f, copy.AsSpan<float>()[0] + copy.AsSpan<float>()[1], 1e-4f);
    }

    [Fact]
    public void Model_loaded_from_bytes_gives_the_same_outputs_as_from_the_file()
    {
        using var fromBytes = InferenceSession.FromBytes(File.ReadAllBytes(TestPaths.OcrClassifier), new SessionOptions { IntraOpThreads = 1 });
        var pixels = new float[2 * 3 * 48 * 192];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = MathF.Sin(i * 0.01f);
        }
        NamedTensor[] inputs = [new("x", TensorData.Create(pixels, 2, 3, 48, 192))];

        using var expected = _session.Run(inputs);
        using var actual = fromBytes.Run(inputs);

        Assert.Equal(_session.Inputs, fromBytes.Inputs, (a, b) => a.ToString() == b.ToString());
        Assert.Equal(expected[0].Tensor.ToArray<float>(), actual[0].Tensor.ToArray<float>());
    }

    [Fact]
    public void Sessions_run_concurrently_from_several_threads()
    {
        var pixels = ConstantImages(1, 0.1f);
        using var reference = _session.Run([new("x", TensorData.Create(pixels, 1, 3, 48, 192))]);
        var expected = reference[0].Tensor.ToArray<float>();

        Parallel.For(0, 40, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            using var outputs = _session.Run([new("x", TensorData.Create(pixels, 1, 3, 48, 192))]);
            Assert.Equal(expected, outputs[0].Tensor.ToArray<float>());
        });
    }

    internal static float[] ConstantImages(int batch, float value)
    {
        var pixels = new float[batch * 3 * 48 * 192];
        Array.Fill(pixels, value);
        return pixels;
    }
}
