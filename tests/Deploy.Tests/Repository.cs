namespace Deploy.Tests;

/// <summary>Paths in the repository the tests run from (the folder holding Aspire.Inference.sln).</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

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
