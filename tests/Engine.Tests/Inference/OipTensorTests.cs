// OIP tensor jobs: what a caller sees for a tensor the model cannot take, and that a good one runs the model as it is.
using System.Text;
using System.Text.Json;
using Contracts.Jobs;
using Engine.Inference;
using Engine.Onnx;

namespace Engine.Tests.Inference;

public sealed class OipTensorTests(OcrModels models) : IClassFixture<OcrModels>
{
    private static string Request(string datatype, long[] shape, IEnumerable<string> data) =>
        $$"""{"inputs":[{"name":"x","datatype":"{{datatype}}","shape":[{{string.Join(",", shape)}}],"data":[{{string.Join(",", data)}}]}]}""";

    private static float[] Pattern(int count) => [.. Enumerable.Range(0, count).Select(i => (float)Math.Sin(i * 0.37) * 0.8f)];

    private InferenceResult Run(string json) =>
        models.Classifier.Run([new JobInput("oip", InputKinds.Tensor, Encoding.UTF8.GetBytes(json))])[0];

    [Fact]
    public void A_tensor_of_the_wrong_shape_is_a_client_error_that_names_the_input()
    {
        var result = Run(Request("FP32", [1, 3, 48], Pattern(3 * 48).Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));

        Assert.False(result.Succeeded);
        Assert.True(result.IsClientError);
        Assert.Equal(JobErrorCodes.InvalidInput, result.ErrorCode);
        Assert.Contains("'x'", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tensor_of_the_wrong_datatype_is_a_client_error_that_names_the_input()
    {
        var result = Run(Request("INT32", [1, 3, 48, 192], Enumerable.Repeat("1", 3 * 48 * 192)));

        Assert.True(result.IsClientError);
        Assert.Equal(JobErrorCodes.InvalidInput, result.ErrorCode);
        Assert.Contains("'x'", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_that_does_not_fill_the_shape_is_a_client_error()
    {
        var result = Run(Request("FP32", [1, 3, 48, 192], ["0.5", "0.25"]));

        Assert.True(result.IsClientError);
        Assert.Equal(JobErrorCodes.InvalidInput, result.ErrorCode);
        Assert.False(string.IsNullOrWhiteSpace(result.ErrorMessage));
    }

    [Fact]
    public void A_valid_request_gives_the_numbers_of_running_the_session_directly()
    {
        long[] shape = [2, 3, 48, 192];
        var data = Pattern(2 * 3 * 48 * 192);

        var result = Run(Request("FP32", shape, data.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        using var direct = models.Classifier.Session.Run([new NamedTensor("x", TensorData.Create(data, shape))]);

        Assert.True(result.Succeeded, result.ErrorMessage);
        var output = Assert.Single(result.Output!.Value.GetProperty("outputs").EnumerateArray());
        Assert.Equal(direct[0].Name, output.GetProperty("name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal(direct[0].Tensor.Shape, output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        var expected = direct[0].Tensor.AsSpan<float>().ToArray();
        var actual = output.GetProperty("data").EnumerateArray().Select(d => d.GetSingle()).ToArray();
        Assert.Equal(expected, actual);
    }
}
