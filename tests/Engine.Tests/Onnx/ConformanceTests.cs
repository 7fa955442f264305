namespace Engine.Tests.Onnx;

public sealed class ConformanceTests
{
    public const string NodeTestsRoot = "/usr/share/libonnx-testdata/data/node";
}
