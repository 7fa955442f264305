using Ort = Microsoft.ML.OnnxRuntime;

namespace Engine.Onnx;

public enum GraphOptimizationLevel
{
    Disabled = 0,
    Basic = 1,
    Extended = 2,
    All = 99,
}

public enum ExecutionProvider
{
    Cpu,
    Cuda,
}

/// <summary>Severity threshold for ONNX Runtime's own log output (enum OrtLoggingLevel).</summary>
public enum OrtLogLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

/// <summary>How an <see cref="InferenceSession"/> is created. Zero thread counts let ONNX Runtime choose.</summary>
public sealed record SessionOptions
{
    public int IntraOpThreads { get; init; }

    public int InterOpThreads { get; init; }

    public GraphOptimizationLevel GraphOptimizationLevel { get; init; } = GraphOptimizationLevel.All;

    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Cpu;

    /// <summary>CUDA device ordinal, used when <see cref="ExecutionProvider"/> is <see cref="ExecutionProvider.Cuda"/>.</summary>
    public int DeviceId { get; init; }

    /// <summary>Overrides the environment's log level for this session (e.g. to silence expected load warnings).</summary>
    public OrtLogLevel? LogLevel { get; init; }

    public static SessionOptions Default { get; } = new();

    /// <summary>
    /// Asks ONNX Runtime for the execution provider without loading a model, so that a process configured for a GPU
    /// can refuse to start instead of failing its first job.
    /// </summary>
    /// <exception cref="OnnxRuntimeException">The provider cannot be used here; the message says what is missing.</exception>
    public void EnsureExecutionProvider()
    {
        using var native = CreateNative();
    }

    /// <summary>The package's options for these settings; the caller disposes them once the session is created.</summary>
    /// <exception cref="OnnxRuntimeException">The execution provider cannot be used by this ONNX Runtime on this machine.</exception>
    internal Ort.SessionOptions CreateNative()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(IntraOpThreads);
        ArgumentOutOfRangeException.ThrowIfNegative(InterOpThreads);

        var options = new Ort.SessionOptions
        {
            IntraOpNumThreads = IntraOpThreads,
            InterOpNumThreads = InterOpThreads,
            // Same numbers as ORT's GraphOptimizationLevel (0, 1, 2, 99).
            GraphOptimizationLevel = (Ort.GraphOptimizationLevel)GraphOptimizationLevel,
        };
        try
        {
            if (LogLevel is { } level)
            {
                options.LogSeverityLevel = (Ort.OrtLoggingLevel)level;
            }
            if (ExecutionProvider == ExecutionProvider.Cuda)
            {
                AppendCuda(options);
            }
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    private void AppendCuda(Ort.SessionOptions options)
    {
        try
        {
            options.AppendExecutionProvider_CUDA(DeviceId);
        }
        catch (EntryPointNotFoundException e)
        {
            // The CPU package's libonnxruntime has no CUDA entry point at all.
            throw new OnnxRuntimeException(OrtErrorCode.EpFail, e.Message,
                $"CUDA execution provider requested (device {DeviceId}) but this is the CPU build of ONNX Runtime " +
                $"{Ort.OrtEnv.Instance().GetVersionString()} (package Microsoft.ML.OnnxRuntime; providers: {string.Join(", ", Ort.OrtEnv.Instance().GetAvailableProviders())}): " +
                "CUDA needs the GPU flavour (build with -p:OnnxRuntimeFlavor=gpu: package Microsoft.ML.OnnxRuntime.Gpu.Linux) " +
                "and the CUDA 13 and cuDNN libraries on the loader path. Use the cpu provider otherwise.", e);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            // The GPU package is there but its provider library or the CUDA/cuDNN libraries it needs cannot be loaded.
            var inner = OnnxRuntimeException.From(e);
            throw new OnnxRuntimeException(inner.ErrorCode, inner.RuntimeMessage,
                $"CUDA execution provider requested (device {DeviceId}) but ONNX Runtime {Ort.OrtEnv.Instance().GetVersionString()} cannot load it: " +
                $"{inner.RuntimeMessage.TrimEnd('.', ' ')}. libonnxruntime_providers_cuda.so needs the CUDA 13 and cuDNN " +
                "libraries (libcudart.so.13, libcublasLt.so.13, libcudnn.so.9, …) on the loader path and a visible GPU.", e);
        }
    }
}
