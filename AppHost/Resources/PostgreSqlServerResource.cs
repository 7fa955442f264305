// A local PostgreSQL 15 server and one database on it as Aspire resources (run mode without containers);
// Aspire.Hosting.PostgreSQL's container and database otherwise.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AppHost.Resources;

/// <summary>
/// Debian's <c>postgres</c> on a data folder of its own under the run folder (initialised once with <c>initdb</c>),
/// listening on 127.0.0.1 and a Unix socket in that folder only. The superuser's password is made at initdb and kept
/// beside the data, so a later run reaches the same cluster.
/// </summary>
public sealed class PostgreSqlServerResource(string name, string command, string workingDirectory, string password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public const string UserName = "postgres";

    public string Password { get; } = password;

    public EndpointReference PrimaryEndpoint => field ??= new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={Password}");
}

/// <summary>A database on a <see cref="PostgreSqlServerResource"/>; its health check creates it when missing.</summary>
public sealed class PostgreSqlDatabaseResource(string name, string databaseName, PostgreSqlServerResource parent)
    : Resource(name), IResourceWithParent<PostgreSqlServerResource>, IResourceWithConnectionString
{
    public PostgreSqlServerResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};Database={DatabaseName}");
}

public static class PostgreSqlServerResourceExtensions
{
    private const string InstallHint = "sudo apt-get install -y postgresql (or run scripts/setup.sh)";
    private const string BinDirectory = "/usr/lib/postgresql/15/bin";

    /// <summary>
    /// The server <paramref name="serverName"/> and its database <paramref name="databaseName"/>, which services reference:
    /// <c>.WithReference(db)</c> sets <c>ConnectionStrings__{databaseName}</c> (Npgsql form) and <c>.WaitFor(db)</c> waits
    /// until the database exists.
    /// </summary>
    public static IResourceBuilder<IResourceWithConnectionString> AddPostgreSqlDatabase(
        this IDistributedApplicationBuilder builder, string serverName, string databaseName, AppHostSettings settings)
    {
        if (builder.ExecutionContext.IsPublishMode || settings.Containers)
        {
            return builder.AddPostgres(serverName).WithDataVolume($"{serverName}-data").AddDatabase(databaseName);
        }

        var postgres = Prerequisites.Require(serverName, settings.Executable("postgres", Path.Combine(BinDirectory, "postgres")), InstallHint);
        var initdb = Prerequisites.Require(serverName, settings.Executable("initdb", Path.Combine(BinDirectory, "initdb")), InstallHint);
        var folder = Directory.CreateDirectory(Path.Combine(settings.RunFolder, serverName)).FullName;
        if (!ServerUser.CanReach(folder))
        {
            // A run folder the postgres user cannot reach (a clone under /root): the data goes where it can, one folder per run folder.
            var id = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(folder)))[..16];
            folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "aspire-inference-postgres", id)).FullName;
        }
        var data = Path.Combine(folder, "data");
        var passwordFile = Path.Combine(folder, "password");
        if (!File.Exists(passwordFile))
        {
            File.WriteAllText(passwordFile, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        var password = File.ReadAllText(passwordFile).Trim();
        var port = PortAllocator.GetFreePort();

        var server = new PostgreSqlServerResource(serverName, ServerUser.Command(postgres), folder, password);
        var serverCheck = $"{serverName}-select";
        var databaseCheck = $"{databaseName}-exists";
        var adminConnection = $"Host=127.0.0.1;Port={port.ToString(CultureInfo.InvariantCulture)};Username={PostgreSqlServerResource.UserName};"
            + $"Password={password};Database=postgres;Pooling=false;Timeout=2;Command Timeout=5";
        builder.Services.AddHealthChecks()
            .AddCheck(serverCheck, new PostgreSqlHealthCheck(adminConnection, createDatabase: null))
            .AddCheck(databaseCheck, new PostgreSqlHealthCheck(adminConnection, createDatabase: databaseName));

        string[] arguments = [.. ServerUser.Arguments(postgres), "-D", data, "-p", port.ToString(CultureInfo.InvariantCulture), "-k", data, "-h", "127.0.0.1"];
        builder.AddResource(server)
            .WithEndpoint(port: port, targetPort: port, scheme: "tcp", name: PostgreSqlServerResource.EndpointName, isProxied: false)
            .ReleasingHeldPorts(port)
            .WithArgs(arguments)
            .WithIconName("Database")
            .WithHealthCheck(serverCheck);
        // initdb once, just before the server's first start (not while the graph is built: nothing else waits for it).
        builder.Eventing.Subscribe<BeforeResourceStartedEvent>(server, async (_, cancellationToken) =>
            await InitializeAsync(initdb, folder, data, passwordFile, cancellationToken));

        var database = new PostgreSqlDatabaseResource(databaseName, databaseName, server);
        // Aspire runs no process for a database: it is running once its server is ready, and healthy once it exists.
        builder.Eventing.Subscribe<ResourceReadyEvent>(server, async (e, _) =>
            await e.Services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database,
                s => s with { State = KnownResourceStates.Running, StartTimeStamp = DateTime.UtcNow }));
        return builder.AddResource(database)
            .WithInitialState(new CustomResourceSnapshot { ResourceType = "PostgreSQLDatabase", State = KnownResourceStates.NotStarted, Properties = [] })
            .WithIconName("Table")
            .WithHealthCheck(databaseCheck);
    }

    private static async Task InitializeAsync(string initdb, string folder, string data, string passwordFile, CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(data, "PG_VERSION")))
        {
            return;
        }
        // PostgreSQL refuses to run as root: as root, its folder belongs to the postgres user Debian's package made.
        await ServerUser.OwnAsync(folder, cancellationToken);
        string[] arguments = [.. ServerUser.Arguments(initdb), "-D", data, "-U", PostgreSqlServerResource.UserName, $"--pwfile={passwordFile}",
            "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions"];
        await RunAsync(ServerUser.Command(initdb), arguments, cancellationToken);
    }

    internal static async Task RunAsync(string command, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {command}");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{command} {string.Join(' ', start.ArgumentList)} exited with {process.ExitCode}: {(await error).Trim()} {(await output).Trim()}");
        }
    }

    /// <summary>The server's programs run as the <c>postgres</c> user when the AppHost runs as root, else as the AppHost's user.</summary>
    private static class ServerUser
    {
        private const string SetPriv = "/usr/bin/setpriv";

        private static bool IsRoot => Environment.IsPrivilegedProcess;

        public static string Command(string program) => IsRoot ? SetPriv : program;

        /// <summary>setpriv execs the program (no process in between): Aspire supervises and signals postgres itself.</summary>
        public static string[] Arguments(string program) =>
            IsRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", program] : [];

        /// <summary>Whether the server's user can get to <paramref name="folder"/> (every folder above it must let it pass).</summary>
        public static bool CanReach(string folder)
        {
            if (!IsRoot)
            {
                return true;
            }
            using var test = Process.Start(new ProcessStartInfo(SetPriv, [.. Arguments("/usr/bin/test"), "-x", folder]))!;
            test.WaitForExit();
            return test.ExitCode == 0;
        }

        public static async Task OwnAsync(string folder, CancellationToken cancellationToken)
        {
            if (IsRoot)
            {
                await RunAsync("/bin/chown", ["-R", "postgres:postgres", folder], cancellationToken);
            }
        }
    }
}

/// <summary>
/// The server answers a query (not "the database system is starting up"); with <c>createDatabase</c>, that database
/// exists, created on the first check that finds it missing.
/// </summary>
internal sealed class PostgreSqlHealthCheck(string connectionString, string? createDatabase) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            if (createDatabase is null)
            {
                await using var select = new NpgsqlCommand("SELECT 1", connection);
                await select.ExecuteScalarAsync(cancellationToken);
                return HealthCheckResult.Healthy();
            }
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new NpgsqlParameter { Value = createDatabase } } };
            if (await exists.ExecuteScalarAsync(cancellationToken) is null)
            {
                // CREATE DATABASE takes no parameters; the name is ours (a resource name), quoted as an identifier.
                await using var create = new NpgsqlCommand($"CREATE DATABASE \"{createDatabase.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
                try
                {
                    await create.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.DuplicateDatabase)
                {
                }
            }
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
