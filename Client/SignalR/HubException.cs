namespace Client.SignalR;

/// <summary>An error reported by the server: a failed hub invocation or a Close message carrying an error.</summary>
public sealed class HubException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>An invocation or send that could not complete because the connection is not (or no longer) open.</summary>
public sealed class HubConnectionClosedException(string message, Exception? innerException = null)
    : Exception(message, innerException);
