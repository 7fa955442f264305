using Microsoft.ML.OnnxRuntime;

namespace Engine.Tests.Onnx;

public sealed class OnnxRuntimePackageTests
{
    [Fact]
    public void Runtime_is_the_packages_1_31_1_with_the_cpu_provider()
    {
        Assert.Equal("1.31.1", OrtEnv.Instance().GetVersionString());
        Assert.Contains("CPUExecutionProvider", OrtEnv.Instance().GetAvailableProviders());
    }

    [Fact]
    public void Sessions_run_on_the_native_library_the_package_put_beside_the_application()
    {
        using var session = Engine.Onnx.InferenceSession.Load(TestPaths.OcrClassifier);

        var loaded = File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
            .Where(path => Path.GetFileName(path).StartsWith("libonnxruntime.so", StringComparison.Ordinal))
            .Distinct()
            .ToList();

        // One library, from the build output (runtimes/linux-x64/native of the package), never a copy elsewhere.
        var library = Assert.Single(loaded);
        Assert.StartsWith(AppContext.BaseDirectory, library);
    }
}
