namespace AppHost.Hosting;

/// <summary>Aspire's <c>Projects.X</c> shape: where a service project lives and how it was built.</summary>
public interface IProjectMetadata
{
    string ProjectPath { get; }

    string Configuration { get; }

    string TargetFramework { get; }
}

public interface IResource
{
    string Name { get; }
}

/// <summary>A resource other resources reach through <c>ConnectionStrings__{name}</c>.</summary>
public interface IResourceWithConnectionString : IResource
{
    /// <summary>The value, known once the AppHost has allocated ports.</summary>
    string ConnectionString { get; }
}

/// <summary>A fixed value handed to services as a connection string (e.g. the model bucket's location).</summary>
public sealed class ConnectionStringResource(string name, string value) : IResourceWithConnectionString
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = value;
}

/// <summary>How the AppHost decides a started replica is ready.</summary>
public enum ReadinessProbe
{
    /// <summary>Ready as soon as the process runs.</summary>
    None,

    /// <summary>GET <c>/health</c> answers 200.</summary>
    HttpHealth,

    /// <summary>Redis answers PING.</summary>
    RedisPing,

    /// <summary>An AMQP connection opens.</summary>
    AmqpConnection,
}

/// <summary>A process the AppHost starts and supervises, in one or more replicas.</summary>
public class ExecutableResource(string name, string command) : IResource
{
    public string Name { get; } = name;

    /// <summary>Program to run: an absolute path or a name looked up on PATH.</summary>
    public string Command { get; set; } = command;

    public string Kind { get; init; } = "Executable";

    /// <summary>The apt command (or other step) that provides <see cref="Command"/>; shown when it is missing.</summary>
    public string? InstallHint { get; set; }

    public List<string> Args { get; } = [];

    public string? WorkingDirectory { get; set; }

    /// <summary>Replicas started with the application; <see cref="MaxReplicas"/> says whether more can be added while it runs.</summary>
    public int Replicas { get; set; } = 1;

    /// <summary>Most replicas the resource may be scaled to at run time; 0 keeps it at <see cref="Replicas"/>.</summary>
    public int MaxReplicas { get; set; }

    public bool IsScalable => MaxReplicas > 0;

    /// <summary>Fixed port of the first replica (the next replicas take the following ports); null for an ephemeral one.</summary>
    public int? Port { get; set; }

    /// <summary>Whether replicas serve HTTP on their allocated port (projects do).</summary>
    public bool HasHttpEndpoint { get; set; }

    public ReadinessProbe Readiness { get; set; } = ReadinessProbe.None;

    public TimeSpan StartupTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Liveness (a Kubernetes livenessProbe): once running, GET this path every few seconds; after
    /// <see cref="LivenessFailureThreshold"/> failures in a row the replica is hung and is killed and restarted. Null: not probed.
    /// </summary>
    public string? LivenessPath { get; set; }

    public int LivenessFailureThreshold { get; set; } = 3;

    /// <summary>How long a replica gets to exit after SIGTERM before it is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public List<IResourceWithConnectionString> References { get; } = [];

    public List<ProjectResource> ServiceReferences { get; } = [];

    public List<IResource> WaitsFor { get; } = [];

    /// <summary>Ports allocated per replica at start (empty when the resource has none).</summary>
    public int[] AllocatedPorts { get; internal set; } = [];

    public IEnumerable<string> HttpEndpoints => HasHttpEndpoint
        ? AllocatedPorts.Select(p => $"http://127.0.0.1:{p}")
        : [];

    /// <summary>Name of replica <paramref name="index"/>: the resource name when it has one replica.</summary>
    public string ReplicaName(int index) => Replicas == 1 ? Name : $"{Name}-{index}";

    /// <summary>Called before each start of a replica, to prepare data directories and add arguments.</summary>
    public virtual void Prepare(ReplicaStartContext context)
    {
    }

    /// <summary>Called after a replica stopped, to clean up what outlives the process (e.g. epmd).</summary>
    public virtual Task CleanupAfterStopAsync(ReplicaStartContext context) => Task.CompletedTask;
}

/// <summary>What a resource needs to know to start one replica.</summary>
public sealed class ReplicaStartContext(string replicaName, int index, int port, string dataDirectory)
{
    public string ReplicaName { get; } = replicaName;

    public int Index { get; } = index;

    public int Port { get; } = port;

    /// <summary>A private directory for this replica under the run folder.</summary>
    public string DataDirectory { get; } = dataDirectory;

    public List<string> Args { get; } = [];

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
}

/// <summary>A .NET service started from its build output with <c>dotnet Service.dll</c>.</summary>
public sealed class ProjectResource : ExecutableResource
{
    public ProjectResource(string name, IProjectMetadata project, string dotnetHost)
        : base(name, dotnetHost)
    {
        Project = project;
        Kind = "Project";
        HasHttpEndpoint = true;
        Readiness = ReadinessProbe.HttpHealth;
        LivenessPath = "/alive";
        StopTimeout = TimeSpan.FromSeconds(25);
        var projectDirectory = Path.GetDirectoryName(project.ProjectPath)!;
        var assemblyName = Path.GetFileNameWithoutExtension(project.ProjectPath);
        AssemblyPath = Path.Combine(projectDirectory, "bin", project.Configuration, project.TargetFramework, assemblyName + ".dll");
        WorkingDirectory = projectDirectory;
        InstallHint = $"build it first: dotnet build {Path.GetFileName(project.ProjectPath)}";
        Args.Add(AssemblyPath);
    }

    public IProjectMetadata Project { get; }

    public string AssemblyPath { get; }
}

/// <summary><c>redis-server</c> with append-only persistence in its own data directory.</summary>
public sealed class RedisResource : ExecutableResource, IResourceWithConnectionString
{
    public RedisResource(string name, string command) : base(name, command)
    {
        Kind = "Redis";
        Readiness = ReadinessProbe.RedisPing;
        StopTimeout = TimeSpan.FromSeconds(10);
        InstallHint = "sudo apt-get install -y redis-server (or run scripts/setup.sh)";
    }

    public string ConnectionString => $"127.0.0.1:{AllocatedPorts[0]}";

    public override void Prepare(ReplicaStartContext context)
    {
        Directory.CreateDirectory(context.DataDirectory);
        context.Args.AddRange([
            "--port", context.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", context.DataDirectory,
            "--appendonly", "yes",
            "--save", "",
            "--daemonize", "no",
            "--logfile", "",
        ]);
    }
}

/// <summary>
/// A private RabbitMQ node: its own node name, ports, Mnesia directory and epmd port, so it never
/// collides with a system RabbitMQ or another AppHost.
/// </summary>
public sealed class RabbitMQServerResource : ExecutableResource, IResourceWithConnectionString
{
    public RabbitMQServerResource(string name, string command) : base(name, command)
    {
        Kind = "RabbitMQ";
        Readiness = ReadinessProbe.AmqpConnection;
        StartupTimeout = TimeSpan.FromSeconds(90);
        StopTimeout = TimeSpan.FromSeconds(20);
        InstallHint = "sudo apt-get install -y rabbitmq-server (or run scripts/setup.sh)";
    }

    public string ConnectionString => $"amqp://guest:guest@127.0.0.1:{AllocatedPorts[0]}";

    /// <summary>Distribution and epmd ports, allocated once so a restarted node keeps its identity.</summary>
    public int DistributionPort { get; internal set; }

    public int EpmdPort { get; internal set; }

    public string NodeName { get; set; } = "";

    public override void Prepare(ReplicaStartContext context)
    {
        var dir = context.DataDirectory;
        Directory.CreateDirectory(Path.Combine(dir, "mnesia"));
        Directory.CreateDirectory(Path.Combine(dir, "log"));
        File.WriteAllText(Path.Combine(dir, "enabled_plugins"), "[].\n");
        File.WriteAllText(Path.Combine(dir, "rabbitmq-env.conf"), "");
        File.WriteAllText(Path.Combine(dir, "rabbitmq.conf"), $"""
            listeners.tcp.default = 127.0.0.1:{context.Port}
            loopback_users = none
            log.console = true
            log.console.level = warning
            log.file = false

            """);
        var env = context.Environment;
        env["RABBITMQ_NODENAME"] = NodeName;
        env["RABBITMQ_NODE_PORT"] = context.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["RABBITMQ_DIST_PORT"] = DistributionPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["ERL_EPMD_PORT"] = EpmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["RABBITMQ_MNESIA_BASE"] = Path.Combine(dir, "mnesia");
        env["RABBITMQ_LOG_BASE"] = Path.Combine(dir, "log");
        env["RABBITMQ_ENABLED_PLUGINS_FILE"] = Path.Combine(dir, "enabled_plugins");
        env["RABBITMQ_CONFIG_FILE"] = Path.Combine(dir, "rabbitmq");
        env["RABBITMQ_CONF_ENV_FILE"] = Path.Combine(dir, "rabbitmq-env.conf");
        env["RABBITMQ_PID_FILE"] = Path.Combine(dir, "rabbitmq.pid");
        // The Erlang cookie lives in $HOME; a private HOME keeps it away from the user's.
        env["HOME"] = dir;
        // Makes the start script exec the VM, so the supervised PID is beam.smp and SIGTERM stops the node cleanly.
        env["RUNNING_UNDER_SYSTEMD"] = "true";
    }

    public override async Task CleanupAfterStopAsync(ReplicaStartContext context)
    {
        // The VM starts an epmd daemon that outlives the node: stop ours (it listens on our private port only).
        try
        {
            using var epmd = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("epmd", ["-port", EpmdPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "-kill"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (epmd is not null)
            {
                await epmd.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            }
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or OperationCanceledException or InvalidOperationException)
        {
            // epmd not installed or not running: nothing left behind to stop.
        }
    }
}
