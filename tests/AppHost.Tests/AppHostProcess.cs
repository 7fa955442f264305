using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AppHost.Tests;

/// <summary>
/// The AppHost run as a user runs it, its output captured: <see cref="DotnetRun"/> is the README's command (with the
/// launch profile's fixed ports), <see cref="Start"/> the built AppHost with the same settings on free ports.
/// </summary>
public sealed class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly List<(string Text, TaskCompletionSource<string> Seen)> _waits = [];
    private readonly Stopwatch _started = Stopwatch.StartNew();
    private int _disposed;

    /// <summary>How long ago the process was started.</summary>
    public TimeSpan Uptime => _started.Elapsed;

    private AppHostProcess(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => OnLine(_stdout, e.Data);
        _process.ErrorDataReceived += (_, e) => OnLine(_stderr, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>The AppHost's own process: under <c>dotnet run</c> the child it starts, else the process itself.</summary>
    public int AppHostPid => ChildProcesses.Alive().FirstOrDefault(pid => ChildProcesses.CommandLine(pid).Contains("AppHost.dll", StringComparison.Ordinal)
        && ChildProcesses.ParentOf(pid) == _process.Id) is var child and > 0 ? child : _process.Id;

    /// <summary><c>dotnet run --project AppHost --no-build</c> from the repository root, launch profile and all.</summary>
    public static AppHostProcess DotnetRun(string runDirectory) =>
        new(WithRun(new ProcessStartInfo("dotnet", ["run", "--project", "AppHost", "--no-build", "-c", Projects.RepositoryInfo.Configuration])
        {
            WorkingDirectory = Projects.RepositoryInfo.Root,
        }, runDirectory, null));

    /// <summary>
    /// The built AppHost, with what the launch profile sets on free ports (a test run may share the machine with a dev run).
    /// It starts with SIGINT at its default disposition, as a command typed in a terminal does: a test run started in the
    /// background (<c>cmd &amp;</c> in a script, CI) has SIGINT ignored, every child inherits that, and .NET then installs no
    /// SIGINT handler, so Ctrl+C would do nothing (GNU env's <c>--default-signal</c>, then exec: the pid stays the AppHost's).
    /// </summary>
    public static AppHostProcess Start(string runDirectory, Dictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", Path.Combine(Projects.RepositoryInfo.Root, "AppHost", "bin", Projects.RepositoryInfo.Configuration, "net10.0", "AppHost.dll")])
        {
            WorkingDirectory = Path.Combine(Projects.RepositoryInfo.Root, "AppHost"),
        };
        info.Environment["ASPNETCORE_URLS"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_DASHBOARD_OTLP_HTTP_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{FreePort()}";
        info.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        info.Environment["DOTNET_ENVIRONMENT"] = "Development";
        info.Environment["AppHost__GatewayPort"] = "0";
        return new AppHostProcess(WithRun(info, runDirectory, environment));
    }

    /// <summary>Waits for a line of standard output containing <paramref name="text"/> and returns it.</summary>
    public async Task<string> WaitForLineAsync(string text, TimeSpan timeout)
    {
        TaskCompletionSource<string> seen;
        lock (_stdout)
        {
            var existing = _stdout.ToString().Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (existing is not null)
            {
                return existing.TrimEnd('\r');
            }
            seen = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waits.Add((text, seen));
        }
        var exited = _process.WaitForExitAsync(TestContext.Current.CancellationToken);
        var first = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout, TestContext.Current.CancellationToken));
        return first == seen.Task
            ? await seen.Task
            : throw new TimeoutException($"the AppHost {(first == exited ? $"exited ({_process.ExitCode})" : "kept running")} without printing '{text}'.\nstdout:\n{Tail(Stdout)}\nstderr:\n{Tail(Stderr)}");
    }

    /// <summary>The URL that follows <paramref name="label"/> in a line of the AppHost's output.</summary>
    public static Uri UrlAfter(string line, string label)
    {
        var start = line.IndexOf(label, StringComparison.Ordinal) + label.Length;
        var end = line.IndexOf(' ', start);
        return new Uri(end < 0 ? line[start..].Trim() : line[start..end]);
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        await _process.WaitForExitAsync(cts.Token);
    }

    /// <summary>Sends <paramref name="signal"/> to the AppHost (to <c>dotnet run</c> when it runs under it) and waits for it to exit.</summary>
    public async Task<TimeSpan> StopAsync(int signal, TimeSpan timeout)
    {
        var stopping = Stopwatch.StartNew();
        ChildProcesses.Signal(_process.Id, signal);
        try
        {
            await WaitForExitAsync(timeout);
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"the AppHost (pid {_process.Id}) did not exit within {timeout.TotalSeconds:0} s of signal {signal}.\nstdout:\n{Tail(Stdout)}\nstderr:\n{Tail(Stderr)}");
        }
        return stopping.Elapsed;
    }

    /// <summary>Stops the AppHost if it still runs; a second call (the test's, then its fixture's) does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        if (!_process.HasExited)
        {
            ChildProcesses.Signal(_process.Id, ChildProcesses.SigTerm);
            try
            {
                await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        _process.Dispose();
    }

    private static ProcessStartInfo WithRun(ProcessStartInfo info, string runDirectory, Dictionary<string, string>? environment)
    {
        info.Environment["AppHost__RunDirectory"] = runDirectory;
        foreach (var (name, value) in environment ?? [])
        {
            info.Environment[name] = value;
        }
        return info;
    }

    private void OnLine(StringBuilder buffer, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_stdout)
        {
            lock (_stderr)
            {
                buffer.AppendLine(line);
            }
            foreach (var wait in _waits.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                wait.Seen.TrySetResult(line);
                _waits.Remove(wait);
            }
        }
    }

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(40));

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
