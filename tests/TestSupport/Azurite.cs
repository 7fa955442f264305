// A real azurite blob server (npm, installed by scripts/setup.sh into .deps/node) on a free port, one per test class.
// Shared test helper: compiled into each test project that needs it.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TestSupport;

public sealed class Azurite : IAsyncLifetime
{
    /// <summary>azurite's well-known development account (documented by Microsoft; it accepts nothing else).</summary>
    public const string Account = "devstoreaccount1";

    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly string _data = Directory.CreateTempSubdirectory("azurite-").FullName;
    private Process? _process;

    public int Port { get; } = FreePort();

    /// <summary>The account's connection string (no container yet).</summary>
    public string AccountConnectionString => string.Create(CultureInfo.InvariantCulture,
        $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{Port}/{Account}");

    public string ConnectionString(string container, string? prefix = null) =>
        AccountConnectionString + $";ContainerName={container}" + (prefix is null ? "" : $";Prefix={prefix}");

    public async ValueTask InitializeAsync()
    {
        var command = Path.Combine(RepositoryRoot(), ".deps", "node", "node_modules", ".bin", "azurite-blob");
        Assert.True(File.Exists(command), $"{command} is missing: run bash scripts/setup.sh");
        var start = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture), "--location", _data, "--silent", "--skipApiVersionCheck" })
        {
            start.ArgumentList.Add(arg);
        }

        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Aspire.Inference.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Aspire.Inference.sln above {AppContext.BaseDirectory}");
    }

    private static int FreePort()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
