// Lists what a local model bucket holds: {bucket}/{model}/{version}/model.json, versions being integer directories.
using System.Globalization;
using Contracts.Models;

namespace Engine.Models;

/// <summary>Every model of a bucket with its versions, valid or not.</summary>
public sealed record ModelCatalog(string BucketDirectory, IReadOnlyList<CatalogModel> Models)
{
    /// <summary>Scans the bucket; an invalid version is reported with its reasons, never thrown.</summary>
    public static ModelCatalog Scan(string bucketDirectory)
    {
        var bucket = Path.GetFullPath(bucketDirectory);
        var models = new List<CatalogModel>();
        foreach (var modelDirectory in Directory.EnumerateDirectories(bucket).Order(StringComparer.Ordinal))
        {
            var versions = new List<CatalogVersion>();
            foreach (var versionDirectory in Directory.EnumerateDirectories(modelDirectory))
            {
                if (!int.TryParse(Path.GetFileName(versionDirectory), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
                {
                    continue;
                }

                versions.Add(LoadVersion(version, versionDirectory));
            }

            if (versions.Count > 0)
            {
                versions.Sort((a, b) => a.Version.CompareTo(b.Version));
                models.Add(new CatalogModel(Path.GetFileName(modelDirectory), versions));
            }
        }

        return new ModelCatalog(bucket, CheckPipelines(models));
    }

    public CatalogModel? Find(string name) => Models.FirstOrDefault(m => m.Name == name);

    private static CatalogVersion LoadVersion(int version, string directory)
    {
        try
        {
            return new CatalogVersion(version, directory, ModelManifestLoader.Load(directory), []);
        }
        catch (InvalidManifestException e)
        {
            return new CatalogVersion(version, directory, null, e.Problems);
        }
        catch (IOException e)
        {
            return new CatalogVersion(version, directory, null, [$"cannot be read: {e.Message}"]);
        }
        catch (UnauthorizedAccessException e)
        {
            return new CatalogVersion(version, directory, null, [$"cannot be read: {e.Message}"]);
        }
    }

    /// <summary>A pipeline version is only usable when every model it chains has a valid version of the right task.</summary>
    private static List<CatalogModel> CheckPipelines(List<CatalogModel> models)
    {
        string? Missing(string? name, ModelTask task, string role)
        {
            if (name is null)
            {
                return null;
            }

            var target = models.FirstOrDefault(m => m.Name == name);
            if (target is null || target.Latest is null)
            {
                return $"pipeline.{role} names '{name}', which has no valid version in the bucket";
            }

            return target.Latest.Definition!.Manifest.Task == task
                ? null
                : $"pipeline.{role} names '{name}', whose task is '{ModelManifestLoader.TaskName(target.Latest.Definition.Manifest.Task)}', not '{ModelManifestLoader.TaskName(task)}'";
        }

        return models.Select(model => model with
        {
            Versions = model.Versions.Select(v =>
            {
                if (v.Definition?.Manifest is not { Task: ModelTask.Ocr, Pipeline: { } pipeline })
                {
                    return v;
                }

                string[] problems =
                [
                    .. new[]
                    {
                        Missing(pipeline.Detection, ModelTask.TextDetection, "detection"),
                        Missing(pipeline.Classification, ModelTask.ImageClassification, "classification"),
                        Missing(pipeline.Recognition, ModelTask.TextRecognition, "recognition"),
                    }.OfType<string>(),
                ];
                return problems.Length == 0 ? v : v with { Definition = null, Problems = problems };
            }).ToList(),
        }).ToList();
    }
}

/// <summary>A model directory and its integer versions, oldest first.</summary>
public sealed record CatalogModel(string Name, IReadOnlyList<CatalogVersion> Versions)
{
    /// <summary>The newest valid version, or null.</summary>
    public CatalogVersion? Latest => Versions.LastOrDefault(v => v.IsValid);
}

/// <summary>One version directory: its definition when valid, otherwise the problems found.</summary>
public sealed record CatalogVersion(int Version, string Directory, ModelDefinition? Definition, IReadOnlyList<string> Problems)
{
    public bool IsValid => Definition is not null;
}
