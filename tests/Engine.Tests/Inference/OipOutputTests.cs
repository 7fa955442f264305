// What OIP callers get back for outputs of each kind: the JSON OipCodec writes from a real session's outputs.
using System.Text.Json;
using Engine.Inference;
using Engine.Onnx;
using Engine.Tests.Onnx;

namespace Engine.Tests.Inference;

public sealed class OipOutputTests
{
    [Fact]
    public void A_bool_output_is_written_as_json_booleans()
    {
        // ONNX's own Not node test: bool in, bool out.
        var model = Path.Combine(ConformanceTests.NodeTestsRoot, "test_not_2d", "model.onnx");
        Assert.SkipUnless(File.Exists(model), $"{model} is missing (apt-get install libonnx-testdata).");
        using var session = InferenceSession.Load(model);
        var input = session.Inputs[0].Name;
        bool[] x = [true, false, false, true, true, false, true, true, false, false, false, true];

        using var outputs = session.Run([new NamedTensor(input, TensorData.Create(x, 3, 4))]);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            OipCodec.WriteOutputs(writer, outputs);
            writer.WriteEndObject();
        }

        var output = JsonDocument.Parse(buffer.ToArray()).RootElement.GetProperty("outputs")[0];
        Assert.Equal("BOOL", output.GetProperty("datatype").GetString());
        Assert.Equal([3L, 4L], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(x.Select(v => !v), output.GetProperty("data").EnumerateArray().Select(d => d.GetBoolean()));
    }
}
