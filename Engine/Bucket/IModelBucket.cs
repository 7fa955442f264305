// The model bucket as storage: {model}/{version}/{file}. Backends: a local directory (LocalModelBucket), S3-compatible
// object storage (S3ModelBucket) and Azure Blob Storage (AzureBlobModelBucket); ModelBuckets.Open picks one from
// ConnectionStrings__models.
namespace Engine.Bucket;

/// <summary>Access to a versioned model bucket. Paths are relative to a version directory, '/'-separated.</summary>
public interface IModelBucket
{
    /// <summary>A readable description of where the bucket lives (for logs and errors).</summary>
    string Location { get; }

    /// <summary>Model names (top-level folders), in ordinal order.</summary>
    Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>The integer version folders of a model, ascending; anything else is ignored.</summary>
    Task<IReadOnlyList<int>> ListVersionsAsync(string model, CancellationToken cancellationToken);

    /// <summary>The size in bytes of a file of a version, or null when it does not exist.</summary>
    Task<long?> GetSizeAsync(string model, int version, string path, CancellationToken cancellationToken);

    /// <summary>Opens a file of a version for reading.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    Task<Stream> OpenReadAsync(string model, int version, string path, CancellationToken cancellationToken);

    /// <summary>Writes a file of a version whole (publishing; readers never see a partly written file).</summary>
    Task WriteAsync(string model, int version, string path, Stream content, CancellationToken cancellationToken);
}
