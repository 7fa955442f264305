using System.Runtime.InteropServices;

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

    internal unsafe OrtSessionOptionsHandle CreateNative()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(IntraOpThreads);
        ArgumentOutOfRangeException.ThrowIfNegative(InterOpThreads);

        nint options;
        OrtApi.ThrowIfFailed(OrtApi.CreateSessionOptions(&options));
        var handle = new OrtSessionOptionsHandle(options);
        try
        {
            OrtApi.ThrowIfFailed(OrtApi.SetIntraOpNumThreads(options, IntraOpThreads));
            OrtApi.ThrowIfFailed(OrtApi.SetInterOpNumThreads(options, InterOpThreads));
            OrtApi.ThrowIfFailed(OrtApi.SetSessionGraphOptimizationLevel(options, (int)GraphOptimizationLevel));
            if (LogLevel is { } level)
            {
                OrtApi.ThrowIfFailed(OrtApi.SetSessionLogSeverityLevel(options, (int)level));
            }
            if (ExecutionProvider == ExecutionProvider.Cuda)
            {
                AppendCuda(options);
            }
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private unsafe void AppendCuda(nint options)
    {
        // OrtCUDAProviderOptions (legacy struct): int device_id; int cudnn_conv_algo_search; size_t gpu_mem_limit;
        // int arena_extend_strategy; int do_copy_in_default_stream; int has_user_compute_stream;
        // void* user_compute_stream; OrtArenaCfg* default_memory_arena_cfg; newer libraries append fields,
        // so the block is oversized and zeroed.
        const int BlockSize = 256;
        var block = (byte*)NativeMemory.AllocZeroed(BlockSize);
        try
        {
            *(int*)block = DeviceId;
            *(int*)(block + 4) = 0;                     // exhaustive cuDNN algorithm search, ORT's default
            *(nuint*)(block + 8) = nuint.MaxValue;      // no GPU memory limit
            *(int*)(block + 16) = 0;                    // arena grows by powers of two
            *(int*)(block + 20) = 1;                    // copy on the compute stream
            var status = OrtApi.SessionOptionsAppendExecutionProviderCuda(options, block);
            if (status != 0)
            {
                var inner = OrtApi.ToException(status);
                throw new OnnxRuntimeException(inner.ErrorCode, inner.RuntimeMessage,
                    $"CUDA execution provider requested (device {DeviceId}) but this ONNX Runtime " +
                    $"({OnnxRuntimeLibrary.LoadedPath}) cannot provide it: {inner.RuntimeMessage.TrimEnd('.', ' ')}. " +
                    "It needs libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so beside the library " +
                    "plus the CUDA and cuDNN libraries on the loader path; providers known to this build: " +
                    $"{string.Join(", ", OnnxRuntimeLibrary.AvailableProviders)}. Use ExecutionProvider.Cpu otherwise.",
                    inner);
            }
        }
        finally
        {
            NativeMemory.Free(block);
        }
    }
}
