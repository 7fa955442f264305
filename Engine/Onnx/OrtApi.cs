// The slice of ONNX Runtime's C API table (struct OrtApi) this binding calls, read once after the library loads.
using System.Runtime.InteropServices;

namespace Engine.Onnx;

internal static unsafe class OrtApi
{
    // The table layout is append-only, so every slot below sits at the same index in any library
    // that accepts this version; 1.30 accepts it (it is far below 1.30's own API version).
    internal const uint ApiVersion = 13;

    // Slot indexes in struct OrtApi (onnxruntime_c_api.h), counted from CreateStatus = 0.
    private const int SlotGetErrorCode = 1;
    private const int SlotGetErrorMessage = 2;
    private const int SlotCreateEnv = 3;
    private const int SlotCreateSession = 7;
    private const int SlotCreateSessionFromArray = 8;
    private const int SlotRun = 9;
    private const int SlotCreateSessionOptions = 10;
    private const int SlotSetSessionLogSeverityLevel = 22;
    private const int SlotSetSessionGraphOptimizationLevel = 23;
    private const int SlotSetIntraOpNumThreads = 24;
    private const int SlotSetInterOpNumThreads = 25;
    private const int SlotSessionGetInputCount = 30;
    private const int SlotSessionGetOutputCount = 31;
    private const int SlotSessionGetInputTypeInfo = 33;
    private const int SlotSessionGetOutputTypeInfo = 34;
    private const int SlotSessionGetInputName = 36;
    private const int SlotSessionGetOutputName = 37;
    private const int SlotCreateTensorWithDataAsOrtValue = 49;
    private const int SlotGetTensorMutableData = 51;
    private const int SlotCastTypeInfoToTensorInfo = 55;
    private const int SlotGetOnnxTypeFromTypeInfo = 56;
    private const int SlotGetTensorElementType = 60;
    private const int SlotGetDimensionsCount = 61;
    private const int SlotGetDimensions = 62;
    private const int SlotGetSymbolicDimensions = 63;
    private const int SlotGetTensorShapeElementCount = 64;
    private const int SlotGetTensorTypeAndShape = 65;
    private const int SlotGetValueType = 67;
    private const int SlotCreateCpuMemoryInfo = 69;
    private const int SlotAllocatorFree = 76;
    private const int SlotGetAllocatorWithDefaultOptions = 78;
    private const int SlotReleaseEnv = 92;
    private const int SlotReleaseStatus = 93;
    private const int SlotReleaseMemoryInfo = 94;
    private const int SlotReleaseSession = 95;
    private const int SlotReleaseValue = 96;
    private const int SlotReleaseTypeInfo = 98;
    private const int SlotReleaseTensorTypeAndShapeInfo = 99;
    private const int SlotReleaseSessionOptions = 100;
    private const int SlotGetAvailableProviders = 125;
    private const int SlotReleaseAvailableProviders = 126;
    private const int SlotSessionOptionsAppendExecutionProviderCuda = 152;

    internal static delegate* unmanaged[Cdecl]<nint, int> GetErrorCode;
    internal static delegate* unmanaged[Cdecl]<nint, byte*> GetErrorMessage;
    internal static delegate* unmanaged[Cdecl]<int, byte*, nint*, nint> CreateEnv;
    internal static delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint> CreateSession;
    internal static delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint> CreateSessionFromArray;
    internal static delegate* unmanaged[Cdecl]<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint> Run;
    internal static delegate* unmanaged[Cdecl]<nint*, nint> CreateSessionOptions;
    internal static delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionLogSeverityLevel;
    internal static delegate* unmanaged[Cdecl]<nint, int, nint> SetSessionGraphOptimizationLevel;
    internal static delegate* unmanaged[Cdecl]<nint, int, nint> SetIntraOpNumThreads;
    internal static delegate* unmanaged[Cdecl]<nint, int, nint> SetInterOpNumThreads;
    internal static delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetInputCount;
    internal static delegate* unmanaged[Cdecl]<nint, nuint*, nint> SessionGetOutputCount;
    internal static delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetInputTypeInfo;
    internal static delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;
    internal static delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetInputName;
    internal static delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint> SessionGetOutputName;
    internal static delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue;
    internal static delegate* unmanaged[Cdecl]<nint, void**, nint> GetTensorMutableData;
    internal static delegate* unmanaged[Cdecl]<nint, nint*, nint> CastTypeInfoToTensorInfo;
    internal static delegate* unmanaged[Cdecl]<nint, int*, nint> GetOnnxTypeFromTypeInfo;
    internal static delegate* unmanaged[Cdecl]<nint, int*, nint> GetTensorElementType;
    internal static delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetDimensionsCount;
    internal static delegate* unmanaged[Cdecl]<nint, long*, nuint, nint> GetDimensions;
    internal static delegate* unmanaged[Cdecl]<nint, byte**, nuint, nint> GetSymbolicDimensions;
    internal static delegate* unmanaged[Cdecl]<nint, nuint*, nint> GetTensorShapeElementCount;
    internal static delegate* unmanaged[Cdecl]<nint, nint*, nint> GetTensorTypeAndShape;
    internal static delegate* unmanaged[Cdecl]<nint, int*, nint> GetValueType;
    internal static delegate* unmanaged[Cdecl]<int, int, nint*, nint> CreateCpuMemoryInfo;
    internal static delegate* unmanaged[Cdecl]<nint, void*, nint> AllocatorFree;
    internal static delegate* unmanaged[Cdecl]<nint*, nint> GetAllocatorWithDefaultOptions;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseEnv;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseStatus;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseMemoryInfo;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseSession;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseValue;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseTypeInfo;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseTensorTypeAndShapeInfo;
    internal static delegate* unmanaged[Cdecl]<nint, void> ReleaseSessionOptions;
    internal static delegate* unmanaged[Cdecl]<byte***, int*, nint> GetAvailableProviders;
    internal static delegate* unmanaged[Cdecl]<byte**, int, nint> ReleaseAvailableProviders;
    internal static delegate* unmanaged[Cdecl]<nint, void*, nint> SessionOptionsAppendExecutionProviderCuda;

    /// <summary>Fills the function pointers from the table returned by OrtGetApiBase()->GetApi(ApiVersion).</summary>
    /// <returns>The library's version string, e.g. "1.30.0".</returns>
    internal static string Bind(nint getApiBaseExport, string libraryPath)
    {
        var getApiBase = (delegate* unmanaged[Cdecl]<nint>)getApiBaseExport;
        var apiBase = (nint*)getApiBase();
        if (apiBase is null)
        {
            throw new OnnxRuntimeException(OrtErrorCode.Fail, $"OrtGetApiBase() returned null in '{libraryPath}'.");
        }

        // struct OrtApiBase { GetApi; GetVersionString; }
        var getApi = (delegate* unmanaged[Cdecl]<uint, nint*>)apiBase[0];
        var getVersionString = (delegate* unmanaged[Cdecl]<byte*>)apiBase[1];
        var version = Marshal.PtrToStringUTF8((nint)getVersionString()) ?? "unknown";

        var table = getApi(ApiVersion);
        if (table is null)
        {
            throw new OnnxRuntimeException(OrtErrorCode.Fail,
                $"ONNX Runtime {version} at '{libraryPath}' does not support C API version {ApiVersion}.");
        }

        GetErrorCode = (delegate* unmanaged[Cdecl]<nint, int>)table[SlotGetErrorCode];
        GetErrorMessage = (delegate* unmanaged[Cdecl]<nint, byte*>)table[SlotGetErrorMessage];
        CreateEnv = (delegate* unmanaged[Cdecl]<int, byte*, nint*, nint>)table[SlotCreateEnv];
        CreateSession = (delegate* unmanaged[Cdecl]<nint, byte*, nint, nint*, nint>)table[SlotCreateSession];
        CreateSessionFromArray = (delegate* unmanaged[Cdecl]<nint, void*, nuint, nint, nint*, nint>)table[SlotCreateSessionFromArray];
        Run = (delegate* unmanaged[Cdecl]<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)table[SlotRun];
        CreateSessionOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)table[SlotCreateSessionOptions];
        SetSessionLogSeverityLevel = (delegate* unmanaged[Cdecl]<nint, int, nint>)table[SlotSetSessionLogSeverityLevel];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged[Cdecl]<nint, int, nint>)table[SlotSetSessionGraphOptimizationLevel];
        SetIntraOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)table[SlotSetIntraOpNumThreads];
        SetInterOpNumThreads = (delegate* unmanaged[Cdecl]<nint, int, nint>)table[SlotSetInterOpNumThreads];
        SessionGetInputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)table[SlotSessionGetInputCount];
        SessionGetOutputCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)table[SlotSessionGetOutputCount];
        SessionGetInputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)table[SlotSessionGetInputTypeInfo];
        SessionGetOutputTypeInfo = (delegate* unmanaged[Cdecl]<nint, nuint, nint*, nint>)table[SlotSessionGetOutputTypeInfo];
        SessionGetInputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)table[SlotSessionGetInputName];
        SessionGetOutputName = (delegate* unmanaged[Cdecl]<nint, nuint, nint, byte**, nint>)table[SlotSessionGetOutputName];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged[Cdecl]<nint, void*, nuint, long*, nuint, int, nint*, nint>)table[SlotCreateTensorWithDataAsOrtValue];
        GetTensorMutableData = (delegate* unmanaged[Cdecl]<nint, void**, nint>)table[SlotGetTensorMutableData];
        CastTypeInfoToTensorInfo = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)table[SlotCastTypeInfoToTensorInfo];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged[Cdecl]<nint, int*, nint>)table[SlotGetOnnxTypeFromTypeInfo];
        GetTensorElementType = (delegate* unmanaged[Cdecl]<nint, int*, nint>)table[SlotGetTensorElementType];
        GetDimensionsCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)table[SlotGetDimensionsCount];
        GetDimensions = (delegate* unmanaged[Cdecl]<nint, long*, nuint, nint>)table[SlotGetDimensions];
        GetSymbolicDimensions = (delegate* unmanaged[Cdecl]<nint, byte**, nuint, nint>)table[SlotGetSymbolicDimensions];
        GetTensorShapeElementCount = (delegate* unmanaged[Cdecl]<nint, nuint*, nint>)table[SlotGetTensorShapeElementCount];
        GetTensorTypeAndShape = (delegate* unmanaged[Cdecl]<nint, nint*, nint>)table[SlotGetTensorTypeAndShape];
        GetValueType = (delegate* unmanaged[Cdecl]<nint, int*, nint>)table[SlotGetValueType];
        CreateCpuMemoryInfo = (delegate* unmanaged[Cdecl]<int, int, nint*, nint>)table[SlotCreateCpuMemoryInfo];
        AllocatorFree = (delegate* unmanaged[Cdecl]<nint, void*, nint>)table[SlotAllocatorFree];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged[Cdecl]<nint*, nint>)table[SlotGetAllocatorWithDefaultOptions];
        ReleaseEnv = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseEnv];
        ReleaseStatus = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseStatus];
        ReleaseMemoryInfo = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseMemoryInfo];
        ReleaseSession = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseSession];
        ReleaseValue = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseValue];
        ReleaseTypeInfo = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseTypeInfo];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseTensorTypeAndShapeInfo];
        ReleaseSessionOptions = (delegate* unmanaged[Cdecl]<nint, void>)table[SlotReleaseSessionOptions];
        GetAvailableProviders = (delegate* unmanaged[Cdecl]<byte***, int*, nint>)table[SlotGetAvailableProviders];
        ReleaseAvailableProviders = (delegate* unmanaged[Cdecl]<byte**, int, nint>)table[SlotReleaseAvailableProviders];
        SessionOptionsAppendExecutionProviderCuda = (delegate* unmanaged[Cdecl]<nint, void*, nint>)table[SlotSessionOptionsAppendExecutionProviderCuda];
        return version;
    }

    /// <summary>Turns a non-null OrtStatus into an <see cref="OnnxRuntimeException"/>, releasing the status.</summary>
    internal static void ThrowIfFailed(nint status)
    {
        if (status != 0)
        {
            throw ToException(status);
        }
    }

    internal static OnnxRuntimeException ToException(nint status)
    {
        using var handle = new OrtStatusHandle(status);
        var code = (OrtErrorCode)GetErrorCode(status);
        var message = Marshal.PtrToStringUTF8((nint)GetErrorMessage(status)) ?? string.Empty;
        return new OnnxRuntimeException(code, message);
    }

    internal static string[] ReadAvailableProviders()
    {
        byte** names = null;
        var count = 0;
        ThrowIfFailed(GetAvailableProviders(&names, &count));
        try
        {
            var result = new string[count];
            for (var i = 0; i < count; i++)
            {
                result[i] = Marshal.PtrToStringUTF8((nint)names[i]) ?? string.Empty;
            }
            return result;
        }
        finally
        {
            ThrowIfFailed(ReleaseAvailableProviders(names, count));
        }
    }

    /// <summary>Copies and frees a string ORT allocated with its default allocator.</summary>
    internal static string TakeAllocatedString(byte* value)
    {
        try
        {
            return Marshal.PtrToStringUTF8((nint)value) ?? string.Empty;
        }
        finally
        {
            nint allocator;
            ThrowIfFailed(GetAllocatorWithDefaultOptions(&allocator));
            ThrowIfFailed(AllocatorFree(allocator, value));
        }
    }
}
