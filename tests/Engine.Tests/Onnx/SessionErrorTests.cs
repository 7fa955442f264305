using Engine.Onnx;

namespace Engine.Tests.Onnx;

/// <summary>What a caller sees when a model or its inputs are wrong.</summary>
public sealed class SessionErrorTests : IDisposable
{
    private static readonly string AbsModel = Path.Combine(ConformanceTests.NodeTestsRoot, "test_abs", "model.onnx");

    private readonly InferenceSession _classifier = InferenceSession.Load(TestPaths.OcrClassifier, new SessionOptions { IntraOpThreads = 1 });

    public void Dispose() => _classifier.Dispose();

    [Fact]
    public void Wrong_element_type_names_the_input_and_both_types()
    {
        var error = Assert.Throws<ModelInputException>(() =>
            _classifier.Run([new("x", TensorData.Create(new long[] { 1, 2 }, 1, 2, 1, 1))]));

        Assert.Equal("x", error.InputName);
        Assert.Equal("input 'x' expects float32 [-1,3,-1,-1] but got int64 [1,2,1,1].", error.Message);
    }

    [Fact]
    public void Wrong_rank_is_rejected_before_onnx_runtime_runs()
    {
        var error = Assert.Throws<ModelInputException>(() =>
            _classifier.Run([new("x", TensorData.Create(new float[3 * 48 * 192], 3, 48, 192))]));

        Assert.Contains("expects float32 [-1,3,-1,-1] but got float32 [3,48,192]", error.Message);
    }

    [Fact]
    public void Fixed_dimension_mismatch_says_which_dimension()
    {
        using var abs = InferenceSession.Load(AbsModel);

        var error = Assert.Throws<ModelInputException>(() =>
            abs.Run([new("x", TensorData.Create(new float[3 * 4 * 6], 3, 4, 6))]));

        Assert.Equal("input 'x' expects float32 [3,4,5] but got float32 [3,4,6] (dimension 2 must be 5).", error.Message);
    }

    [Fact]
    public void Unknown_input_name_lists_what_the_model_expects()
    {
        var error = Assert.Throws<ModelInputException>(() =>
            _classifier.Run([new("image", TensorData.Create(OcrClassifierSessionTests.ConstantImages(1, 0f), 1, 3, 48, 192))]));

        Assert.Equal("image", error.InputName);
        Assert.Contains("input 'image' is not an input of this model", error.Message);
        Assert.Contains("x: float32 [-1,3,-1,-1]", error.Message);
    }

    [Fact]
    public void Missing_and_repeated_inputs_are_rejected()
    {
        var image = TensorData.Create(OcrClassifierSessionTests.ConstantImages(1, 0f), 1, 3, 48, 192);

        var missing = Assert.Throws<ModelInputException>(() => _classifier.Run([]));
        var repeated = Assert.Throws<ModelInputException>(() => _classifier.Run([new("x", image), new("x", image)]));

        Assert.Equal("missing input(s): x: float32 [-1,3,-1,-1].", missing.Message);
        Assert.Equal("input 'x' is given more than once.", repeated.Message);
    }

    [Fact]
    public void Unknown_output_name_is_rejected()
    {
        var image = TensorData.Create(OcrClassifierSessionTests.ConstantImages(1, 0f), 1, 3, 48, 192);

        var error = Assert.Throws<ArgumentException>(() => _classifier.Run([new("x", image)], ["nope"]));

        Assert.Contains("'nope' is not an output of this model", error.Message);
    }

    [Fact]
    public void Random_bytes_are_not_a_model_and_the_error_carries_onnx_runtime_message()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);

        var error = Assert.Throws<OnnxRuntimeException>(() => InferenceSession.FromBytes(garbage));

        Assert.Equal(OrtErrorCode.InvalidProtobuf, error.ErrorCode);
        Assert.False(string.IsNullOrWhiteSpace(error.RuntimeMessage));
        Assert.Contains(error.RuntimeMessage, error.Message);
    }

    [Fact]
    public void Missing_model_file_is_reported_by_onnx_runtime()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => InferenceSession.Load("/nonexistent/model.onnx"));

        Assert.Equal(OrtErrorCode.NoSuchFile, error.ErrorCode);
        Assert.Contains("/nonexistent/model.onnx", error.Message);
    }

    [Fact]
    public void Cuda_on_the_cpu_package_fails_with_a_message_naming_what_is_missing()
    {
        Assert.SkipWhen(Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"),
            "This is the GPU build of ONNX Runtime.");

        var error = Assert.Throws<OnnxRuntimeException>(() =>
            InferenceSession.Load(TestPaths.OcrClassifier, new SessionOptions { ExecutionProvider = ExecutionProvider.Cuda, DeviceId = 1 }));

        Assert.Equal(OrtErrorCode.EpFail, error.ErrorCode);
        Assert.Contains("CUDA execution provider requested (device 1) but this is the CPU build of ONNX Runtime 1.31.1", error.Message);
        Assert.Contains("providers: CPUExecutionProvider", error.Message);
        Assert.Contains("-p:OnnxRuntimeFlavor=gpu: package Microsoft.ML.OnnxRuntime.Gpu.Linux", error.Message);
        Assert.Contains("CUDA 13 and cuDNN", error.Message);
        Assert.False(string.IsNullOrWhiteSpace(error.RuntimeMessage));
        TestContext.Current.TestOutputHelper?.WriteLine(error.Message);
    }

    [Fact]
    public void Tensor_shape_must_match_its_data()
    {
        Assert.Throws<ArgumentException>(() => TensorData.Create(new float[5], 2, 3));
        Assert.Throws<ArgumentException>(() => TensorData.Create(new float[6], 2, -3));
        Assert.Throws<InvalidOperationException>(() => TensorData.Create(new float[6], 2, 3).AsSpan<int>().Length);
    }
}
