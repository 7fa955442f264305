namespace Engine.Tests.Models;

/// <summary>A throwaway model bucket in the temp directory.</summary>
internal sealed class TestBucket : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("bucket-").FullName;

    /// <summary>Writes {model}/{version}/model.json (and a stand-in model.onnx unless told not to); returns the version directory.</summary>
    public string AddVersion(string model, int version, string manifestJson, bool withOnnx = true)
        => AddVersion(model, version.ToString(System.Globalization.CultureInfo.InvariantCulture), manifestJson, withOnnx);

    public string AddVersion(string model, string versionDirectoryName, string manifestJson, bool withOnnx = true)
    {
        var directory = Path.Combine(Root, model, versionDirectoryName);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "model.json"), manifestJson);
        if (withOnnx)
        {
            File.WriteAllBytes(Path.Combine(directory, "model.onnx"), [8, 7, 18]);
        }

        return directory;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

internal static class RepoPaths
{
    /// <summary>The repository root, found above the test binaries by its solution file.</summary>
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Aspire.Inference.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Aspire.Inference.sln above {AppContext.BaseDirectory}");
    }
}
