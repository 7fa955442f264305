// Publishes a directory as a new version of a model: every file is uploaded first, then model.json, rewritten to name the
// model and version and to list every file with its size and sha256. The manifest going last is what makes the version
// appear whole to the bucket's readers (BucketScan), whatever the backend.
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Contracts.Models;
using Engine.Models;

namespace Engine.Bucket;

/// <summary>A publish that cannot go ahead; the message says why in terms of the user's input.</summary>
public sealed class PublishException(string message) : Exception(message);

/// <summary>Progress of one publish: the file being uploaded and the bytes done so far of all files.</summary>
public readonly record struct PublishProgress(string File, long BytesDone, long BytesTotal, int FilesDone, int FilesTotal);

public sealed record PublishedModel(string Model, int Version, IReadOnlyList<(string Path, long Size, string Sha256)> Files);

public static class ModelPublisher
{
    /// <param name="version">The version to publish; null for one above the newest in the bucket.</param>
    /// <exception cref="PublishException">No manifest, an invalid one, a name clash, or the version exists already.</exception>
    public static async Task<PublishedModel> PublishAsync(
        IModelBucket bucket, string directory, string model, int? version, IProgress<PublishProgress>? progress, CancellationToken cancellationToken)
    {
        directory = Path.GetFullPath(directory);
        var manifestPath = Path.Combine(directory, ModelManifestLoader.ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            throw new PublishException($"{manifestPath} not found: a version needs its manifest");
        }

        if (!ModelNames.IsValid(model))
        {
            throw new PublishException($"'{model}' is not a model name: 1-64 lower-case letters, digits, '.', '_' or '-'");
        }

        var existing = await bucket.ListVersionsAsync(model, cancellationToken);
        var target = version ?? (existing.Count == 0 ? 1 : existing[^1] + 1);
        if (target < 1)
        {
            throw new PublishException($"version {target} is not a positive integer");
        }

        if (await bucket.GetSizeAsync(model, target, ModelManifestLoader.ManifestFileName, cancellationToken) is not null)
        {
            throw new PublishException($"{model} version {target} is already published in {bucket.Location}; versions are immutable, publish a new one");
        }

        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(f => f != ModelManifestLoader.ManifestFileName && !f.Split('/').Any(s => s.StartsWith('.')))
            .Order(StringComparer.Ordinal)
            .ToList();

        JsonObject manifest;
        try
        {
            manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken),
                documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new PublishException($"{manifestPath}: the manifest must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new PublishException($"{manifestPath}: not valid JSON: {e.Message}");
        }

        var listed = new List<(string Path, long Size, string Sha256)>();
        foreach (var file in files)
        {
            var full = Path.Combine(directory, file);
            await using var stream = File.OpenRead(full);
            listed.Add((file, stream.Length, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken))));
        }

        manifest["name"] = model;
        manifest["version"] = target;
        manifest["files"] = new JsonArray([.. listed.Select(f => (JsonNode)new JsonObject { ["path"] = f.Path, ["sha256"] = f.Sha256, ["size"] = f.Size })]);
        var json = manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

        // The manifest is checked before anything is uploaded, so a mistake costs no half-published version.
        var problems = new List<string>();
        if (ModelManifestLoader.Parse(json, problems, out _) is null || problems.Count > 0)
        {
            throw new PublishException($"{manifestPath} is invalid: {string.Join("; ", problems)}");
        }

        var total = listed.Sum(f => f.Size);
        long done = 0;
        for (var i = 0; i < listed.Count; i++)
        {
            var (path, size, _) = listed[i];
            progress?.Report(new PublishProgress(path, done, total, i, listed.Count + 1));
            await using (var stream = File.OpenRead(Path.Combine(directory, path)))
            {
                await bucket.WriteAsync(model, target, path, stream, cancellationToken);
            }

            done += size;
        }

        progress?.Report(new PublishProgress(ModelManifestLoader.ManifestFileName, done, total, listed.Count, listed.Count + 1));
        await using (var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json)))
        {
            await bucket.WriteAsync(model, target, ModelManifestLoader.ManifestFileName, stream, cancellationToken);
        }

        progress?.Report(new PublishProgress(ModelManifestLoader.ManifestFileName, done, total, listed.Count + 1, listed.Count + 1));
        return new PublishedModel(model, target, listed);
    }

    /// <summary>Publishes every version found in a local tree <c>{model}/{version}/</c> that the bucket lacks (seeding a new bucket).</summary>
    public static async Task<IReadOnlyList<PublishedModel>> SeedAsync(IModelBucket bucket, string tree, CancellationToken cancellationToken)
    {
        var published = new List<PublishedModel>();
        foreach (var modelDirectory in Directory.EnumerateDirectories(tree).Order(StringComparer.Ordinal))
        {
            var model = Path.GetFileName(modelDirectory);
            var versions = Directory.EnumerateDirectories(modelDirectory)
                .Select(d => (Directory: d, Version: int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0))
                .Where(v => v.Version > 0 && File.Exists(Path.Combine(v.Directory, ModelManifestLoader.ManifestFileName)))
                .OrderBy(v => v.Version);
            foreach (var (versionDirectory, version) in versions)
            {
                if (await bucket.GetSizeAsync(model, version, ModelManifestLoader.ManifestFileName, cancellationToken) is null)
                {
                    published.Add(await PublishAsync(bucket, versionDirectory, model, version, null, cancellationToken));
                }
            }
        }

        return published;
    }
}
