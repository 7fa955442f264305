using Ort = Microsoft.ML.OnnxRuntime;

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
    private const string CodePrefix = "[ErrorCode:";

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

    /// <summary>
    /// The package's exception with its code made a value: the package keeps its ErrorCode internal and only writes it
    /// into the message, as <c>[ErrorCode:InvalidProtobuf] message</c>.
    /// </summary>
    internal static OnnxRuntimeException From(Ort.OnnxRuntimeException e)
    {
        var text = e.Message;
        var code = OrtErrorCode.Fail;
        if (text.StartsWith(CodePrefix, StringComparison.Ordinal) && text.IndexOf(']', StringComparison.Ordinal) is var end and > 0)
        {
            code = Enum.TryParse<OrtErrorCode>(text[CodePrefix.Length..end], out var parsed) ? parsed : OrtErrorCode.Fail;
            text = text[(end + 1)..].TrimStart();
        }
        return new OnnxRuntimeException(code, text, $"ONNX Runtime error {code}: {text}", e);
    }
}

/// <summary>The inputs given to <see cref="InferenceSession.Run"/> do not match what the model declares.</summary>
public sealed class ModelInputException(string message, string? inputName = null) : Exception(message)
{
    /// <summary>The offending input, when the problem is about one input.</summary>
    public string? InputName { get; } = inputName;
}
