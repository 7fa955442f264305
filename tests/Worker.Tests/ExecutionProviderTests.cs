using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Worker.Inference;

namespace Worker.Tests;

/// <summary>A worker configured for a GPU on this CPU-only machine refuses to start and says what is missing.</summary>
public sealed class ExecutionProviderTests
{
    private static readonly bool CudaBuild =
        Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider");

    [Fact]
    public void Cpu_is_the_default_and_runs_here()
    {
        Assert.Null(ExecutionProviderCheck.Problem(Configuration([])));
        Assert.Null(ExecutionProviderCheck.Problem(Configuration(new() { ["Worker:ExecutionProvider"] = "cpu" })));
    }

    [Fact]
    public void Cuda_on_the_cpu_build_names_the_gpu_flavour_and_the_cuda_libraries_in_one_line()
    {
        Assert.SkipWhen(CudaBuild, "This is the GPU build of ONNX Runtime.");

        var problem = ExecutionProviderCheck.Problem(
            Configuration(new() { ["Worker:ExecutionProvider"] = "cuda", ["Worker:DeviceId"] = "1" }));

        Assert.NotNull(problem);
        Assert.DoesNotContain('\n', problem);
        Assert.StartsWith("worker: Worker:ExecutionProvider=cuda cannot run here: CUDA execution provider requested (device 1)", problem);
        Assert.Contains("-p:OnnxRuntimeFlavor=gpu", problem);
        Assert.Contains("CUDA 13 and cuDNN", problem);
    }

    [Fact]
    public void An_unknown_provider_is_named_with_the_choices()
    {
        var problem = ExecutionProviderCheck.Problem(Configuration(new() { ["Worker:ExecutionProvider"] = "rocm" }));

        Assert.Equal("worker: Worker:ExecutionProvider is 'rocm'; it must be cpu or cuda.", problem);
    }

    [Fact]
    public async Task Worker_process_with_cuda_exits_at_start_with_the_one_line_reason()
    {
        Assert.SkipWhen(CudaBuild, "This is the GPU build of ONNX Runtime.");
        // No Redis, RabbitMQ or bucket: the check must come before the worker needs any of them.
        var (exitCode, lines, stdout) = await RunWorkerAsync(new() { ["Worker__ExecutionProvider"] = "cuda" });

        Assert.Equal(1, exitCode);
        var line = Assert.Single(lines);
        Assert.StartsWith("worker: Worker:ExecutionProvider=cuda cannot run here:", line);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu.Linux", line);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Worker_process_without_a_broker_connection_string_exits_at_start_naming_the_variable()
    {
        // Redis given, RabbitMQ not: without the check, the RabbitMQ client would quietly try localhost:5672.
        var (exitCode, lines, _) = await RunWorkerAsync(new() { ["ConnectionStrings__cache"] = "127.0.0.1:1" });

        Assert.Equal(1, exitCode);
        Assert.Equal(
            "worker: ConnectionStrings__messaging is not set: it names the RabbitMQ broker, amqp://user:pass@host:port. "
            + "The AppHost sets it; standalone, set the environment variable.",
            Assert.Single(lines));
    }

    /// <summary>Runs the built worker with only <paramref name="environment"/> set; its exit code and stderr lines.</summary>
    private static async Task<(int ExitCode, string[] Stderr, string Stdout)> RunWorkerAsync(Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Worker.dll")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var worker = Process.Start(start)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var stderr = worker.StandardError.ReadToEndAsync(timeout.Token);
        var stdout = worker.StandardOutput.ReadToEndAsync(timeout.Token);
        try
        {
            await worker.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!worker.HasExited)
            {
                worker.Kill(entireProcessTree: true);
            }
        }
        return (worker.ExitCode, (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries), await stdout);
    }


    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
