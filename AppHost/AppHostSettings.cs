using System.Security.Cryptography;

namespace AppHost;

/// <summary>
/// Knobs of the Aspire.Inference graph, bound from the <c>AppHost</c> section: the command line
/// (<c>--workers 3</c>, <c>--AppHost:RunDirectory=…</c>) and the environment (<c>AppHost__Workers</c>).
/// </summary>
public sealed class AppHostSettings
{
    public const string Section = "AppHost";

    /// <summary>Command-line switches and the settings they set.</summary>
    public static readonly Dictionary<string, string> Switches = new(StringComparer.Ordinal)
    {
        ["--workers"] = $"{Section}:Workers",
        ["--gateways"] = $"{Section}:Gateways",
        ["--gateway-port"] = $"{Section}:GatewayPort",
        ["--models"] = $"{Section}:Models",
        ["--bucket"] = $"{Section}:ModelBucket",
        ["--run-dir"] = $"{Section}:RunDirectory",
        ["--containers"] = $"{Section}:Containers",
        ["--gpus"] = $"{Section}:Gpus",
        ["--api-key"] = $"{Section}:ApiKey",
    };

    public int Workers { get; set; } = 2;

    public int Gateways { get; set; } = 1;

    /// <summary>
    /// CUDA device ids, comma-separated (<c>--gpus 0,1</c>): one worker per listed id, on that GPU, in place of the
    /// <see cref="Workers"/> CPU replicas. An id listed twice gets two replicas on that GPU. Empty: CPU workers.
    /// </summary>
    public string? Gpus { get; set; }

    /// <summary>The parsed <see cref="Gpus"/>: each device id and how many worker replicas run on it, in the order first listed.</summary>
    public IReadOnlyList<(int DeviceId, int Replicas)> GpuWorkers =>
        [.. ParseGpus().GroupBy(id => id).Select(g => (g.Key, g.Count()))];

    /// <summary>Port of the gateway (behind Aspire's proxy when it has replicas); 0 picks a free one (tests).</summary>
    public int GatewayPort { get; set; } = 8080;

    /// <summary>The model tree: the directory bucket itself, or with <c>--bucket s3|azure</c> what the bucket is seeded from.
    /// By default the repository's <c>models/</c>.</summary>
    public string? Models { get; set; }

    /// <summary><c>local</c> (the <see cref="Models"/> directory), <c>s3</c> (a local S3 server, s3rver) or <c>azure</c>
    /// (a local Azure Blob server, azurite).</summary>
    public string ModelBucket { get; set; } = "local";

    /// <summary>Where the servers keep their data (Redis AOF, RabbitMQ's Mnesia, the S3 or Azure bucket) and the workers their model cache.</summary>
    public string? RunDirectory { get; set; }

    /// <summary>Run Redis and RabbitMQ as Aspire's container resources (needs a running container engine) instead of local processes.</summary>
    public bool Containers { get; set; }

    /// <summary>Key of ModelSync's admin API (header X-Admin-Key); a fresh random one per run unless given.</summary>
    public string AdminKey { get; set; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The development account's API key, which the gateway makes sure exists at start (run mode only); a fresh one per run
    /// unless given, printed when the gateway is ready.
    /// </summary>
    public string ApiKey { get; set; } = "aik_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    /// <summary>Paths of the programs the servers run (e.g. <c>redis-server</c>), overriding PATH and the Debian locations.</summary>
    public Dictionary<string, string> Executables { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Extra environment for every service (e.g. <c>Jobs__DeliveryLimit</c> in tests).</summary>
    public Dictionary<string, string> ServiceEnvironment { get; set; } = new(StringComparer.Ordinal);

    public string ModelTree => Path.GetFullPath(Models ?? Path.Combine(Projects.RepositoryInfo.Root, "models"));

    public string RunFolder => Path.GetFullPath(RunDirectory ?? Path.Combine(Projects.RepositoryInfo.Root, ".run", "apphost"));

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message for a value the graph cannot use.</summary>
    public void Validate()
    {
        if (Workers < 1 || Gateways < 1)
        {
            throw new ArgumentException("--workers and --gateways take a number of at least 1.");
        }
        if (ModelBucket.ToLowerInvariant() is not ("local" or "s3" or "azure"))
        {
            throw new ArgumentException($"--bucket takes 'local', 's3' or 'azure', not '{ModelBucket}'.");
        }
        if (GatewayPort is < 0 or > 65535)
        {
            throw new ArgumentException($"--gateway-port takes a port number (0 for a free one), not {GatewayPort}.");
        }
        _ = ParseGpus();
    }

    private List<int> ParseGpus()
    {
        if (string.IsNullOrWhiteSpace(Gpus))
        {
            return [];
        }
        var ids = new List<int>();
        foreach (var part in Gpus.Split(','))
        {
            if (!int.TryParse(part.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
            {
                throw new ArgumentException($"--gpus takes CUDA device ids separated by commas (e.g. 0,1), not '{Gpus}'.");
            }
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>The program <paramref name="name"/> as configured, else <paramref name="defaultPath"/>.</summary>
    public string Executable(string name, string defaultPath) =>
        Executables.TryGetValue(name, out var path) && !string.IsNullOrWhiteSpace(path) ? path : defaultPath;
}
