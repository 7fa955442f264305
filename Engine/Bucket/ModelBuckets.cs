// ConnectionStrings__models names the bucket: a directory, or s3://bucket[/prefix][?endpoint=…&region=…&accessKey=…&secretKey=…].
using System.Web;

namespace Engine.Bucket;

/// <summary>Where an S3 bucket lives; credentials default to the standard AWS_* environment variables.</summary>
/// <param name="Prefix">Key prefix of the model tree inside the bucket, empty or ending with '/'.</param>
/// <param name="Endpoint">An S3-compatible server (MinIO, R2, s3rver); null for AWS itself.</param>
/// <param name="PathStyle">Address the bucket as a path (<c>http://host/bucket/key</c>), as local servers need.</param>
public sealed record S3BucketSettings(string Bucket, string Prefix, Uri? Endpoint, string? Region, string? AccessKey, string? SecretKey, bool PathStyle)
{
    /// <summary>The connection string without credentials (for logs and errors).</summary>
    public string Display => $"s3://{Bucket}/{Prefix}" + (Endpoint is null ? "" : $" at {Endpoint}");
}

public static class ModelBuckets
{
    public const string Description = "the model bucket: a directory, or s3://bucket/prefix?endpoint=http://host:port";

    /// <summary>The bucket a connection string names.</summary>
    /// <exception cref="FormatException">An s3:// URL that cannot be understood (the message says why).</exception>
    public static IModelBucket Open(string connectionString) =>
        IsS3(connectionString) ? new S3ModelBucket(ParseS3(connectionString)) : new LocalModelBucket(connectionString);

    public static bool IsS3(string connectionString) => connectionString.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    public static S3BucketSettings ParseS3(string connectionString)
    {
        if (!Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw new FormatException($"'{connectionString}' is not an S3 URL; expected s3://bucket/prefix?endpoint=http://host:port");
        }

        var query = HttpUtility.ParseQueryString(uri.Query);
        var known = new[] { "endpoint", "region", "accessKey", "secretKey", "pathStyle" };
        if (query.AllKeys.FirstOrDefault(k => k is null || !known.Contains(k, StringComparer.Ordinal)) is { } unknown)
        {
            throw new FormatException($"'{unknown}' is not a setting of an S3 bucket URL; known: {string.Join(", ", known)}");
        }

        Uri? endpoint = null;
        if (query["endpoint"] is { Length: > 0 } text
            && (!Uri.TryCreate(text, UriKind.Absolute, out endpoint) || endpoint.Scheme is not ("http" or "https")))
        {
            throw new FormatException($"endpoint '{text}' must be an http(s) URL");
        }

        var prefix = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
        return new S3BucketSettings(
            uri.Host,
            prefix.Length == 0 ? "" : prefix + "/",
            endpoint,
            query["region"],
            query["accessKey"],
            query["secretKey"],
            // Servers other than AWS rarely resolve bucket.host names; path style works everywhere.
            PathStyle: query["pathStyle"] is { } pathStyle ? pathStyle != "false" : endpoint is not null);
    }
}
