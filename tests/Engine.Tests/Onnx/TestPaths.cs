namespace Engine.Tests.Onnx;

/// <summary>Locations of the repository's models and artifacts, found from the test binaries upward.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string OcrClassifier => Path.Combine(RepoRoot, "models", "ocr-cls", "1", "model.onnx");

    public static string Artifacts
    {
        get
        {
            var path = Path.Combine(RepoRoot, "artifacts");
            Directory.CreateDirectory(path);
            return path;
        }
    }

    private static string FindRepoRoot()
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
