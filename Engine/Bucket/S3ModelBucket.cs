// The model bucket on S3-compatible object storage (AWS S3, MinIO, R2, s3rver), keys {prefix}{model}/{version}/{path}.
// Listings are flat and paged (one listing per model gives every key with its size and ETag); sizes come from the last
// listing when it holds the key, else from a HEAD; a key a later listing lacks is forgotten (deleted). Manifests are kept
// by ETag, so polling an unfinished upload does not download its manifest again and again. Service errors surface as
// IOException, like a directory's.
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Engine.Models;

namespace Engine.Bucket;

public sealed class S3ModelBucket : IModelBucket, IDisposable
{
    private const long ManifestCacheLimit = 1 << 20;

    private readonly AmazonS3Client _s3;
    private readonly S3BucketSettings _settings;
    private readonly ConcurrentDictionary<string, (long Size, string ETag)> _listed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string ETag, byte[] Bytes)> _manifests = new(StringComparer.Ordinal);

    public S3ModelBucket(S3BucketSettings settings)
    {
        _settings = settings;
        var config = new AmazonS3Config
        {
            ForcePathStyle = settings.PathStyle,
            // Checksums only where S3 requires them: S3-compatible servers do not all understand the newer trailers.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(100),
            MaxErrorRetry = 3,
        };
        if (settings.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = settings.Region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1";
        }
        else if ((settings.Region ?? Environment.GetEnvironmentVariable("AWS_REGION")) is { Length: > 0 } region)
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }

        _s3 = settings is { AccessKey: { Length: > 0 } key, SecretKey: { Length: > 0 } secret }
            ? new AmazonS3Client(new BasicAWSCredentials(key, secret), config)
            // The SDK's default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, IAM roles.
            : new AmazonS3Client(config);
    }

    public string Location => _settings.Display;

    public S3BucketSettings Settings => _settings;

    public void Dispose() => _s3.Dispose();

    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        // Flat rather than by delimiter: one paged listing, and some S3-compatible servers list no prefixes at the root.
        var keys = await ListAsync(_settings.Prefix, cancellationToken);
        return [.. keys.Select(k => k.Split('/'))
            .Where(parts => parts.Length >= 3 && IsVersion(parts[1]))
            .Select(parts => parts[0])
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<int>> ListVersionsAsync(string model, CancellationToken cancellationToken)
    {
        var keys = await ListAsync(_settings.Prefix + CheckSegment(model) + "/", cancellationToken);
        return [.. keys.Select(k => k.Split('/'))
            .Where(parts => parts.Length >= 3 && IsVersion(parts[1]))
            .Select(parts => int.Parse(parts[1], CultureInfo.InvariantCulture))
            .Distinct()
            .Order()];
    }

    public async Task<long?> GetSizeAsync(string model, int version, string path, CancellationToken cancellationToken)
    {
        var key = Key(model, version, path);
        // Versions are immutable: a key seen in the last listing keeps its size.
        if (_listed.TryGetValue(key, out var listed))
        {
            return listed.Size;
        }

        try
        {
            var head = await _s3.GetObjectMetadataAsync(_settings.Bucket, key, cancellationToken);
            return head.ContentLength;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException)
        {
            throw Failure("HEAD", key, e);
        }
    }

    public async Task<Stream> OpenReadAsync(string model, int version, string path, CancellationToken cancellationToken)
    {
        var key = Key(model, version, path);
        var isManifest = path == ModelManifestLoader.ManifestFileName;
        if (isManifest && _listed.TryGetValue(key, out var listed) && _manifests.TryGetValue(key, out var cached) && cached.ETag == listed.ETag)
        {
            return new MemoryStream(cached.Bytes, writable: false);
        }

        try
        {
            var response = await _s3.GetObjectAsync(_settings.Bucket, key, cancellationToken);
            if (isManifest && response.ContentLength <= ManifestCacheLimit)
            {
                using (response)
                {
                    using var copy = new MemoryStream();
                    await response.ResponseStream.CopyToAsync(copy, cancellationToken);
                    var bytes = copy.ToArray();
                    _manifests[key] = (response.ETag, bytes);
                    return new MemoryStream(bytes, writable: false);
                }
            }

            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new FileNotFoundException($"{Location}: {key} does not exist", key, e);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException)
        {
            throw Failure("GET", key, e);
        }
    }

    public async Task WriteAsync(string model, int version, string path, Stream content, CancellationToken cancellationToken)
    {
        var key = Key(model, version, path);
        try
        {
            await _s3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _settings.Bucket,
                Key = key,
                InputStream = content,
                AutoCloseStream = false,
                // Plain signed bodies: aws-chunked uploads are not understood by every S3-compatible server.
                UseChunkEncoding = false,
            }, cancellationToken);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException)
        {
            throw Failure("PUT", key, e);
        }
    }

    /// <summary>Creates the bucket when it does not exist yet (local servers, first publish).</summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _s3.PutBucketAsync(new PutBucketRequest { BucketName = _settings.Bucket }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException)
        {
            throw Failure("create bucket", _settings.Bucket, e);
        }
    }

    /// <summary>Every key under <paramref name="prefix"/>, relative to the bucket's prefix; remembers sizes and ETags.</summary>
    private async Task<List<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = _settings.Bucket, Prefix = prefix };
        try
        {
            ListObjectsV2Response response;
            do
            {
                response = await _s3.ListObjectsV2Async(request, cancellationToken);
                foreach (var entry in response.S3Objects ?? [])
                {
                    _listed[entry.Key] = (entry.Size ?? 0, entry.ETag);
                    seen.Add(entry.Key);
                    keys.Add(entry.Key[_settings.Prefix.Length..]);
                }

                request.ContinuationToken = response.NextContinuationToken;
            }
            while (response.IsTruncated == true);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException)
        {
            throw Failure("list", prefix, e);
        }

        // A key no longer listed was deleted (a version withdrawn from the bucket): its size and manifest are forgotten.
        foreach (var gone in _listed.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !seen.Contains(k)).ToList())
        {
            _listed.TryRemove(gone, out _);
            _manifests.TryRemove(gone, out _);
        }

        return keys;
    }

    private string Key(string model, int version, string path)
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

    private static bool IsVersion(string segment) =>
        int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0;

    private IOException Failure(string operation, string key, Exception e) =>
        new($"{Location}: {operation} {key} failed: {(e as AmazonServiceException)?.ErrorCode ?? e.GetType().Name}: {e.Message}", e);

    /// <summary>An object's body that releases its response when disposed.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => response.ContentLength;

        public override long Position { get => _inner.Position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
