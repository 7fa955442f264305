// A version is published only when complete: its manifest exists (written last), is not empty, and lists every file with its size and
// sha256, and every listed file is present at that size. A half-copied version is simply not there yet.
using Contracts.Models;
using Engine.Models;

namespace Engine.Bucket;

/// <summary>A complete version in the bucket: its manifest as raw JSON and as parsed (null when it does not parse).</summary>
public sealed record PublishedVersion(string Model, int Version, string ManifestJson, ModelManifest? Manifest, IReadOnlyList<string> ManifestProblems);

public static class BucketScan
{
    /// <summary>The version when it is published, null while it is incomplete (no manifest, or a listed file missing or short).</summary>
    public static async Task<PublishedVersion?> GetPublishedAsync(this IModelBucket bucket, string model, int version, CancellationToken cancellationToken)
    {
        if (await bucket.GetSizeAsync(model, version, ModelManifestLoader.ManifestFileName, cancellationToken) is null)
        {
            return null;
        }

        string json;
        try
        {
            await using var stream = await bucket.OpenReadAsync(model, version, ModelManifestLoader.ManifestFileName, cancellationToken);
            using var reader = new StreamReader(stream);
            json = await reader.ReadToEndAsync(cancellationToken);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        if (string.IsNullOrWhiteSpace(json))
        {
            // Named but not yet written: S3 servers and copies can list the object before its bytes are in. Judging it
            // now would mark a version invalid for good (verdicts are final) over a moment of timing.
            return null;
        }

        var problems = new List<string>();
        var manifest = ModelManifestLoader.Parse(json, problems, out _);
        if (manifest is null)
        {
            // A manifest that does not parse is a published (bad) version: the author wrote it last, and it is wrong.
            return new PublishedVersion(model, version, json, null, problems);
        }

        foreach (var file in manifest.Files)
        {
            long? size;
            try
            {
                size = await bucket.GetSizeAsync(model, version, file.Path, cancellationToken);
            }
            catch (ArgumentException e)
            {
                problems.Add(e.Message);
                continue;
            }

            if (size != file.Size)
            {
                return null;
            }
        }

        return new PublishedVersion(model, version, json, manifest, problems);
    }

    /// <summary>Every published version of every model in the bucket, oldest first per model.</summary>
    public static async Task<IReadOnlyList<PublishedVersion>> ListPublishedAsync(this IModelBucket bucket, CancellationToken cancellationToken)
    {
        var published = new List<PublishedVersion>();
        foreach (var model in await bucket.ListModelsAsync(cancellationToken))
        {
            foreach (var version in await bucket.ListVersionsAsync(model, cancellationToken))
            {
                if (await bucket.GetPublishedAsync(model, version, cancellationToken) is { } v)
                {
                    published.Add(v);
                }
            }
        }

        return published;
    }
}
