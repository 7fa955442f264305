// The process-wide OrtEnv every session is created in; also owns the CPU memory description for input tensors.
namespace Engine.Onnx;

/// <summary>Severity threshold for ONNX Runtime's own log output (enum OrtLoggingLevel).</summary>
public enum OrtLogLevel
{
    Verbose = 0,
    Info = 1,
    Warning = 2,
    Error = 3,
    Fatal = 4,
}

public sealed unsafe class OrtEnvironment
{
    private static readonly Lock Gate = new();
    private static OrtEnvironment? s_shared;

    private OrtEnvironment(OrtLogLevel logLevel)
    {
        OnnxRuntimeLibrary.EnsureLoaded();
        LogLevel = logLevel;

        nint env;
        fixed (byte* logId = "Aspire.Inference"u8)
        {
            OrtApi.ThrowIfFailed(OrtApi.CreateEnv((int)logLevel, logId, &env));
        }
        Handle = new OrtEnvHandle(env);

        nint memoryInfo;
        // OrtDeviceAllocator (0), OrtMemTypeDefault (0): plain CPU memory owned by the caller.
        OrtApi.ThrowIfFailed(OrtApi.CreateCpuMemoryInfo(0, 0, &memoryInfo));
        CpuMemoryInfo = new OrtMemoryInfoHandle(memoryInfo);
    }

    /// <summary>The environment, created on first use with <see cref="OrtLogLevel.Warning"/>.</summary>
    public static OrtEnvironment Shared => s_shared ?? GetOrCreate(OrtLogLevel.Warning);

    /// <summary>ORT allows one environment per process: the first call decides the log level, later calls reuse it.</summary>
    public static OrtEnvironment GetOrCreate(OrtLogLevel logLevel)
    {
        lock (Gate)
        {
            return s_shared ??= new OrtEnvironment(logLevel);
        }
    }

    public OrtLogLevel LogLevel { get; }

    /// <summary>The ONNX Runtime version string of the loaded library.</summary>
    public string Version => OnnxRuntimeLibrary.Version;

    internal OrtEnvHandle Handle { get; }

    internal OrtMemoryInfoHandle CpuMemoryInfo { get; }
}
