namespace Client;

/// <summary>
/// A hub call did not complete: the connection was not open (not started, reconnecting, closed) or was lost while the
/// call was in flight. Whether the gateway acted on it is unknown; <see cref="InferenceClient.State"/> says whether a
/// reconnect is under way.
/// </summary>
public sealed class InferenceConnectionException(string message, Exception? innerException = null) : Exception(message, innerException);
