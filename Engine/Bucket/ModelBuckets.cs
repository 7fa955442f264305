// ConnectionStrings__models names the bucket: a directory, s3://bucket[/prefix][?endpoint=…&region=…&accessKey=…&secretKey=…],
// or an Azure Storage connection string naming a container (…;BlobEndpoint=…;AccountKey=…;ContainerName=models[;Prefix=p]).
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

/// <summary>Where an Azure Blob container lives.</summary>
/// <param name="ConnectionString">The storage account's connection string without the bucket's own keys; holds credentials.</param>
/// <param name="Prefix">Name prefix of the model tree inside the container, empty or ending with '/'.</param>
public sealed record AzureBlobBucketSettings(string ConnectionString, string Container, string Prefix, string Account, string? BlobEndpoint)
{
    /// <summary>The bucket without credentials (for logs and errors).</summary>
    public string Display => $"azure blob {Account}/{Container}/{Prefix}" + (BlobEndpoint is null ? "" : $" at {BlobEndpoint}");

    // A record prints every member: never the account key.
    public override string ToString() => Display;
}

public static class ModelBuckets
{
    public const string Description =
        "the model bucket: a directory, s3://bucket/prefix?endpoint=http://host:port, or an Azure Storage connection string with ContainerName=";

    /// <summary>The bucket's own keys in an Azure Storage connection string (ContainerName as Aspire's blob containers name it).</summary>
    public const string ContainerKey = "ContainerName";

    public const string PrefixKey = "Prefix";

    // The keys that start an Azure Storage connection string (the portal's, azurite's and Aspire's forms).
    private static readonly string[] s_azureKeys =
        ["DefaultEndpointsProtocol", "AccountName", "AccountKey", "BlobEndpoint", "SharedAccessSignature", "UseDevelopmentStorage", "EndpointSuffix", ContainerKey];

    /// <summary>The bucket a connection string names.</summary>
    /// <exception cref="FormatException">An s3:// URL or Azure connection string that cannot be understood (the message says why).</exception>
    public static IModelBucket Open(string connectionString) =>
        IsS3(connectionString) ? new S3ModelBucket(ParseS3(connectionString))
        : IsAzureBlob(connectionString) ? new AzureBlobModelBucket(ParseAzureBlob(connectionString))
        : new LocalModelBucket(connectionString);

    public static bool IsS3(string connectionString) => connectionString.StartsWith("s3://", StringComparison.OrdinalIgnoreCase);

    /// <summary>An Azure Storage connection string: <c>key=value</c> pairs separated by ';', starting with one of its keys.</summary>
    public static bool IsAzureBlob(string connectionString) =>
        s_azureKeys.Any(k => connectionString.TrimStart().StartsWith(k + "=", StringComparison.OrdinalIgnoreCase));

    public static AzureBlobBucketSettings ParseAzureBlob(string connectionString)
    {
        // Split as Azure's own parser does: pairs on ';', each on its first '=' (a SAS value holds '=' and '&').
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new FormatException($"'{part.Split('=')[0]}…' is not a key=value pair; expected DefaultEndpointsProtocol=…;AccountName=…;AccountKey=…;BlobEndpoint=…;{ContainerKey}=…");
            }

            pairs.Add(new(part[..equals].Trim(), part[(equals + 1)..].Trim()));
        }

        string? Get(string key) => pairs.LastOrDefault(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase)).Value;

        string? Take(string key)
        {
            var value = Get(key);
            pairs.RemoveAll(p => string.Equals(p.Key, key, StringComparison.OrdinalIgnoreCase));
            return value;
        }

        var container = Take(ContainerKey);
        var prefix = (Take(PrefixKey) ?? "").Trim('/');
        if (string.IsNullOrWhiteSpace(container))
        {
            throw new FormatException($"the Azure Storage connection string names no container: add ;{ContainerKey}=models");
        }

        var development = string.Equals(Get("UseDevelopmentStorage"), "true", StringComparison.OrdinalIgnoreCase);
        var account = Get("AccountName");
        var endpoint = Get("BlobEndpoint");
        if (endpoint is not null && (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            throw new FormatException($"BlobEndpoint '{endpoint}' must be an http(s) URL");
        }

        if (!development && account is null && endpoint is null)
        {
            throw new FormatException("the Azure Storage connection string names no account: give AccountName (and AccountKey) or BlobEndpoint (with SharedAccessSignature)");
        }

        var rest = string.Join(';', pairs.Select(p => $"{p.Key}={p.Value}"));
        return new AzureBlobBucketSettings(
            rest, container, prefix.Length == 0 ? "" : prefix + "/", account ?? (development ? "devstoreaccount1" : new Uri(endpoint!).Host.Split('.')[0]), endpoint);
    }

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
