using System.Text.Json;
using System.Text.RegularExpressions;
using ServiceDefaults.Caching;

namespace Gateway.Models;

/// <summary>A model the gateway accepts jobs for.</summary>
public sealed record ModelInfo(string Name, string Task, IReadOnlyList<int> Versions, JsonElement Manifest)
{
    public int LatestVersion => Versions[^1];

    public bool TakesImages => Task is not "tensor";
}

/// <summary>
/// The models in the bucket (<c>ConnectionStrings__models</c>), rescanned every few seconds: a model
/// exists when some integer version directory holds a readable <c>model.json</c>.
/// </summary>
public sealed partial class ModelCatalog(IConfiguration configuration, ILogger<ModelCatalog> log) : BackgroundService
{
    private static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(5);
    private readonly string _bucket = configuration.GetRequiredConnectionString("models", "the model bucket (a directory path)");
    private volatile IReadOnlyDictionary<string, ModelInfo> _models = new Dictionary<string, ModelInfo>();

    public IReadOnlyCollection<ModelInfo> All => _models.Values.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();

    public bool TryGet(string name, out ModelInfo model) => _models.TryGetValue(name, out model!);

    /// <summary>Model names are what queues and keys are made of: lower-case letters, digits, '.', '_' and '-'.</summary>
    public static bool IsValidName(string name) => ValidName().IsMatch(name);

    public void Scan()
    {
        var models = new Dictionary<string, ModelInfo>(StringComparer.Ordinal);
        if (Directory.Exists(_bucket))
        {
            foreach (var modelDir in Directory.EnumerateDirectories(_bucket))
            {
                var name = Path.GetFileName(modelDir);
                if (!IsValidName(name))
                {
                    continue;
                }
                var versions = new List<(int Version, JsonElement Manifest)>();
                foreach (var versionDir in Directory.EnumerateDirectories(modelDir))
                {
                    if (int.TryParse(Path.GetFileName(versionDir), out var version) && version > 0
                        && TryReadManifest(Path.Combine(versionDir, "model.json")) is { } manifest)
                    {
                        versions.Add((version, manifest));
                    }
                }
                if (versions.Count > 0)
                {
                    versions.Sort((a, b) => a.Version.CompareTo(b.Version));
                    var latest = versions[^1].Manifest;
                    var task = latest.TryGetProperty("task", out var t) ? t.GetString() ?? "tensor" : "tensor";
                    models[name] = new ModelInfo(name, task, versions.Select(v => v.Version).ToList(), latest);
                }
            }
        }
        _models = models;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RescanInterval);
        do
        {
            try
            {
                Scan();
            }
            catch (IOException e)
            {
                LogScanFailed(_bucket, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private JsonElement? TryReadManifest(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            if (File.Exists(path))
            {
                LogBadManifest(path, e.Message);
            }
            return null;
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex ValidName();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scanning the model bucket {Bucket} failed: {Reason}")]
    private partial void LogScanFailed(string bucket, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipping unreadable manifest {Path}: {Reason}")]
    private partial void LogBadManifest(string path, string reason);
}
