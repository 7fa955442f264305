namespace Engine.Onnx;

/// <summary>Error codes of ONNX Runtime's OrtStatus (enum OrtErrorCode).</summary>
public enum OrtErrorCode
{
    Ok = 0,
    Fail = 1,
    InvalidArgument = 2,
    NoSuchFile = 3,
    NoModel = 4,
    EngineError = 5,
    RuntimeException = 6,
    InvalidProtobuf = 7,
    ModelLoaded = 8,
    NotImplemented = 9,
    InvalidGraph = 10,
    EpFail = 11,
}

/// <summary>ONNX Runtime reported a failure; carries its error code and message.</summary>
public class OnnxRuntimeException : Exception
{
    public OnnxRuntimeException(OrtErrorCode errorCode, string runtimeMessage)
        : this(errorCode, runtimeMessage, $"ONNX Runtime error {errorCode}: {runtimeMessage}")
    {
    }

    public OnnxRuntimeException(OrtErrorCode errorCode, string runtimeMessage, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        RuntimeMessage = runtimeMessage;
    }

    public OrtErrorCode ErrorCode { get; }

    /// <summary>The message exactly as ONNX Runtime reported it.</summary>
    public string RuntimeMessage { get; }
}

/// <summary>libonnxruntime could not be found; the message lists every place searched.</summary>
public sealed class OnnxRuntimeNotFoundException(string message, IReadOnlyList<string> searchedPaths)
    : Exception(message)
{
    public IReadOnlyList<string> SearchedPaths { get; } = searchedPaths;
}

/// <summary>The inputs given to <see cref="InferenceSession.Run"/> do not match what the model declares.</summary>
public sealed class ModelInputException(string message, string? inputName = null) : Exception(message)
{
    /// <summary>The offending input, when the problem is about one input.</summary>
    public string? InputName { get; } = inputName;
}
