using System.Diagnostics;

namespace Engine.Benchmarks;

/// <summary>The repository's models and generated inputs, found from the binaries upward.</summary>
public static class BenchPaths
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    public static string Model(string name) => Path.Combine(Models, name, "1", "model.onnx");

    public const string AddModel = "/usr/share/libonnx-testdata/data/node/test_add/model.onnx";

    /// <summary>A JPEG photo-like test image of the given size, made once with ImageMagick (plasma, fixed seed).</summary>
    public static string Jpeg(int width, int height)
    {
        var directory = Path.Combine(Path.GetTempPath(), "engine-bench");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"plasma-{width}x{height}.jpg");
        if (!File.Exists(path))
        {
            using var convert = Process.Start(new ProcessStartInfo("convert", ["-seed", "7", "-size", $"{width}x{height}", "plasma:fractal", "-quality", "90", path])
            {
                RedirectStandardError = true,
            }) ?? throw new InvalidOperationException("imagemagick's convert is required");
            convert.WaitForExit();
            if (convert.ExitCode != 0)
            {
                throw new InvalidOperationException($"convert failed: {convert.StandardError.ReadToEnd()}");
            }
        }

        return path;
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Aspire.Inference.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Aspire.Inference.sln above {AppContext.BaseDirectory}.");
    }
}
