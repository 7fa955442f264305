// A local copy of bucket versions, so ORT and the manifest loader read plain files. Every listed file is checked
// against its sha256 while it is copied; a version appears in the cache only once complete (copied aside, then renamed).
using System.Globalization;
using System.Security.Cryptography;
using Engine.Models;

namespace Engine.Bucket;

/// <summary>A file whose bytes do not match the sha256 its manifest lists.</summary>
public sealed class BucketIntegrityException(string message) : Exception(message);

/// <param name="ownsDirectory">Delete the directory on dispose (a private temporary cache).</param>
public sealed class ModelCache(IModelBucket bucket, string directory, bool ownsDirectory = false) : IDisposable
{
    public string Root { get; } = Path.GetFullPath(directory);

    public void Dispose()
    {
        if (ownsDirectory && Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    /// <summary>The cached directory of a version, <c>{cache}/{model}/{version}</c>, copying it from the bucket first if needed.</summary>
    /// <exception cref="BucketIntegrityException">A file's sha256 differs from the manifest's.</exception>
    public async Task<string> FetchAsync(PublishedVersion version, CancellationToken cancellationToken)
    {
        var target = Path.Combine(Root, version.Model, version.Version.ToString(CultureInfo.InvariantCulture));
        if (Directory.Exists(target))
        {
            if (await IsCurrentAsync(target, version, cancellationToken))
            {
                return target;
            }
            // Published versions are immutable, but a directory bucket can be edited in place (a developer changing
            // models/ocr-cls/1/model.json): a cached copy whose manifest differs is stale, so it is fetched again.
            var stale = Path.Combine(Root, version.Model, $".stale-{version.Version}.{Guid.NewGuid():N}");
            try
            {
                Directory.Move(target, stale);
                Directory.Delete(stale, recursive: true);
            }
            catch (IOException) when (!Directory.Exists(target))
            {
                // Another process sharing this cache moved it first.
            }
        }

        var staging = Path.Combine(Root, version.Model, $".{version.Version}.{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var manifest = version.Manifest;
            var listed = manifest?.Files ?? [];
            foreach (var file in listed)
            {
                await CopyAsync(version, file.Path, staging, file.Sha256, cancellationToken);
            }

            // Files the manifest names without listing them (weights, labels, dictionary, samples) come along unchecked.
            string?[] named =
            [
                ModelManifestLoader.ModelFileName, manifest?.LabelsFile, manifest?.DictionaryFile, .. (manifest?.Samples ?? []).Select(s => s.Input),
            ];
            foreach (var path in named.OfType<string>().Distinct(StringComparer.Ordinal))
            {
                if (!listed.Any(f => f.Path == path) && await bucket.GetSizeAsync(version.Model, version.Version, path, cancellationToken) is not null)
                {
                    await CopyAsync(version, path, staging, null, cancellationToken);
                }
            }

            await File.WriteAllTextAsync(Path.Combine(staging, ModelManifestLoader.ManifestFileName), version.ManifestJson, cancellationToken);
            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (Directory.Exists(target))
            {
                // Another fetch of the same immutable version won the race; its copy is as good as ours.
                Directory.Delete(staging, recursive: true);
            }

            return target;
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }
    }

    private static async Task<bool> IsCurrentAsync(string target, PublishedVersion version, CancellationToken cancellationToken)
    {
        var cached = Path.Combine(target, ModelManifestLoader.ManifestFileName);
        return File.Exists(cached) && await File.ReadAllTextAsync(cached, cancellationToken) == version.ManifestJson;
    }

    private async Task CopyAsync(PublishedVersion version, string path, string staging, string? sha256, CancellationToken cancellationToken)
    {
        var destination = Path.GetFullPath(Path.Combine(staging, path));
        if (!destination.StartsWith(staging + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new BucketIntegrityException($"{version.Model}/{version.Version}: '{path}' is outside the version directory");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var source = await bucket.OpenReadAsync(version.Model, version.Version, path, cancellationToken))
        await using (var output = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
        {
            var buffer = new byte[81920];
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }

        var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (sha256 is not null && !string.Equals(actual, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BucketIntegrityException($"{version.Model}/{version.Version}: '{path}' has sha256 {actual}, the manifest lists {sha256}");
        }
    }
}
