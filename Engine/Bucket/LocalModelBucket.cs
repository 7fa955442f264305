using System.Globalization;

namespace Engine.Bucket;

/// <summary>A bucket that is a directory (the embedded default, <c>models/</c>, or a mounted volume).</summary>
public sealed class LocalModelBucket(string directory) : IModelBucket
{
    public string Root { get; } = Path.GetFullPath(directory);

    public string Location => Root;

    public Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> models = Directory.Exists(Root)
            ? [.. Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];
        return Task.FromResult(models);
    }

    public Task<IReadOnlyList<int>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        var modelDirectory = Resolve(model);
        IReadOnlyList<int> versions = Directory.Exists(modelDirectory)
            ? [.. Directory.EnumerateDirectories(modelDirectory)
                .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
                .Where(v => v > 0)
                .Order()]
            : [];
        return Task.FromResult(versions);
    }

    public Task<long?> GetSizeAsync(string model, int version, string path, CancellationToken cancellationToken)
    {
        var file = new FileInfo(Resolve(model, version.ToString(CultureInfo.InvariantCulture), path));
        return Task.FromResult(file.Exists ? file.Length : (long?)null);
    }

    public Task<Stream> OpenReadAsync(string model, int version, string path, CancellationToken cancellationToken)
    {
        Stream stream = new FileStream(Resolve(model, version.ToString(CultureInfo.InvariantCulture), path), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous);
        return Task.FromResult(stream);
    }

    public async Task WriteAsync(string model, int version, string path, Stream content, CancellationToken cancellationToken)
    {
        var target = Resolve(model, version.ToString(CultureInfo.InvariantCulture), path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Written aside, then renamed: a reader sees the whole file or none of it.
        var staging = $"{target}.{Guid.NewGuid():N}.partial";
        try
        {
            await using (var output = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                await content.CopyToAsync(output, cancellationToken);
            }
            File.Move(staging, target, overwrite: true);
        }
        finally
        {
            File.Delete(staging);
        }
    }

    /// <summary>The local path of a version directory (what ModelManifestLoader reads directly).</summary>
    public string VersionDirectory(string model, int version) => Resolve(model, version.ToString(CultureInfo.InvariantCulture));

    private string Resolve(params string[] parts)
    {
        var full = Path.GetFullPath(Path.Combine([Root, .. parts.SelectMany(p => p.Split('/'))]));
        // A name from the bucket or a manifest must never reach outside the bucket.
        return full.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? full
            : throw new ArgumentException($"'{string.Join('/', parts)}' is outside the bucket {Root}");
    }
}
