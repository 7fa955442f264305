// The model bucket in an Azure Blob Storage container (Azure Storage accounts, azurite), blobs {prefix}{model}/{version}/{path}.
// Written like S3ModelBucket: one flat, paged listing per model gives every blob with its size and ETag; sizes come from the
// last listing when it holds the blob, else from its properties; a blob a later listing lacks is forgotten (deleted);
// manifests are kept by ETag. An upload becomes visible only when its block list is committed, so a reader never sees a
// partly written blob, and the manifest going last (ModelPublisher) keeps a version invisible until it is complete.
// Service errors surface as IOException, like a directory's.
using System.Collections.Concurrent;
using System.Globalization;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Engine.Models;

namespace Engine.Bucket;

public sealed class AzureBlobModelBucket : IModelBucket
{
    private const long ManifestCacheLimit = 1 << 20;

    private readonly BlobContainerClient _container;
    private readonly AzureBlobBucketSettings _settings;
    private readonly ConcurrentDictionary<string, (long Size, string ETag)> _listed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string ETag, byte[] Bytes)> _manifests = new(StringComparer.Ordinal);

    public AzureBlobModelBucket(AzureBlobBucketSettings settings)
    {
        _settings = settings;
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 3;
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(100);
        _container = new BlobServiceClient(settings.ConnectionString, options).GetBlobContainerClient(settings.Container);
    }

    public string Location => _settings.Display;

    public AzureBlobBucketSettings Settings => _settings;

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var names = await ListAsync(_settings.Prefix, cancellationToken);
        return [.. names.Select(k => k.Split('/'))
            .Where(parts => parts.Length >= 3 && IsVersion(parts[1]))
            .Select(parts => parts[0])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<int>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        var names = await ListAsync(_settings.Prefix + CheckSegment(model) + "/", cancellationToken);
        return [.. names.Select(k => k.Split('/'))
            .Where(parts => parts.Length >= 3 && IsVersion(parts[1]))
            .Select(parts => int.Parse(parts[1], CultureInfo.InvariantCulture))
            .Distinct()
            .Order()];
    }

    public async Task<long?> GetSizeAsync(string model, int version, string path, CancellationToken cancellationToken)
    {
        var name = BlobName(model, version, path);
        // Versions are immutable: a blob seen in the last listing keeps its size.
        if (_listed.TryGetValue(name, out var listed))
        {
            return listed.Size;
        }

        try
        {
            var properties = await _container.GetBlobClient(name).GetPropertiesAsync(cancellationToken: cancellationToken);
            return properties.Value.ContentLength;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure("get properties of", name, e);
        }
    }

    public async Task<Stream> OpenReadAsync(string model, int version, string path, CancellationToken cancellationToken)
    {
        var name = BlobName(model, version, path);
        var isManifest = path == ModelManifestLoader.ManifestFileName;
        if (isManifest && _listed.TryGetValue(name, out var listed) && _manifests.TryGetValue(name, out var cached) && cached.ETag == listed.ETag)
        {
            return new MemoryStream(cached.Bytes, writable: false);
        }

        try
        {
            var response = await _container.GetBlobClient(name).DownloadStreamingAsync(cancellationToken: cancellationToken);
            var download = response.Value;
            if (isManifest && download.Details.ContentLength <= ManifestCacheLimit)
            {
                using (download)
                {
                    using var copy = new MemoryStream();
                    await download.Content.CopyToAsync(copy, cancellationToken);
                    var bytes = copy.ToArray();
                    _manifests[name] = (Tag(download.Details.ETag), bytes);
                    return new MemoryStream(bytes, writable: false);
                }
            }

            // Disposing the content stream releases the response.
            return download.Content;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new FileNotFoundException($"{Location}: {name} does not exist", name, e);
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure("download", name, e);
        }
    }

    public async Task WriteAsync(string model, int version, string path, Stream content, CancellationToken cancellationToken)
    {
        var name = BlobName(model, version, path);
        var start = content.CanSeek ? content.Position : -1;
        try
        {
            // Large files go up as blocks; the blob exists only once its block list is committed, whole.
            await _container.GetBlobClient(name).UploadAsync(content, overwrite: true, cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.ContainerNotFound && start >= 0)
        {
            // The first publish into a new container creates it (a SAS scoped to one container cannot: it must exist).
            await EnsureContainerAsync(cancellationToken);
            content.Position = start;
            try
            {
                await _container.GetBlobClient(name).UploadAsync(content, overwrite: true, cancellationToken);
            }
            catch (Exception retry) when (IsServiceFailure(retry))
            {
                throw Failure("upload", name, retry);
            }
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure("upload", name, e);
        }
    }

    /// <summary>Creates the container when it does not exist yet (azurite, first publish).</summary>
    public async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure("create container", _settings.Container, e);
        }
    }

    /// <summary>Every blob under <paramref name="prefix"/>, relative to the bucket's prefix; remembers sizes and ETags.</summary>
    private async Task<List<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken))
            {
                _listed[blob.Name] = (blob.Properties.ContentLength ?? 0, Tag(blob.Properties.ETag ?? default));
                seen.Add(blob.Name);
                names.Add(blob.Name[_settings.Prefix.Length..]);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            // A container nobody has published to yet holds no models (the CLI's first publish creates it).
        }
        catch (Exception e) when (IsServiceFailure(e))
        {
            throw Failure("list", prefix, e);
        }

        // A blob no longer listed was deleted (a version withdrawn from the bucket): its size and manifest are forgotten.
        foreach (var gone in _listed.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !seen.Contains(k)).ToList())
        {
            _listed.TryRemove(gone, out _);
            _manifests.TryRemove(gone, out _);
        }

        return names;
    }

    private string BlobName(string model, int version, string path)
    {
        var segments = path.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            throw new ArgumentException($"'{path}' is outside the version directory");
        }

        return $"{_settings.Prefix}{CheckSegment(model)}/{version.ToString(CultureInfo.InvariantCulture)}/{path}";
    }

    private static string CheckSegment(string name) =>
        name.Length == 0 || name.Contains('/') || name is "." or ".." ? throw new ArgumentException($"'{name}' is not a model name") : name;

    // Listings and response headers may quote an ETag differently: compare the bare value.
    private static string Tag(ETag etag) => etag.ToString().Trim('"');

    private static bool IsVersion(string segment) =>
        int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0;

    // Azure.Core reports a service's answer as RequestFailedException and retries exhausted on a dead connection as an
    // AggregateException of them.
    private static bool IsServiceFailure(Exception e) => e is RequestFailedException or AggregateException or HttpRequestException;

    private IOException Failure(string operation, string name, Exception e) =>
        new($"{Location}: {operation} {name} failed: {(e as RequestFailedException)?.ErrorCode ?? e.GetType().Name}: {e.Message.Split('\n')[0]}", e);
}
