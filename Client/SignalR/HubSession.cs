// One physical connection to the hub: negotiate, WebSocket, handshake, then a single receive loop,
// serialized sends, keep-alive and in-order dispatch of server invocations. A reconnect makes a new session.
using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;

namespace Client.SignalR;

/// <summary>Why a session ended; a null error means a clean close.</summary>
internal sealed record SessionEnd(Exception? Error, bool AllowReconnect);

internal sealed class HubSession
{
    private const int MaxRetainedSendBuffer = 1024 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly HubConnectionOptions _options;
    private readonly HandlerRegistry _handlers;
    private readonly Action<string, Exception> _onHandlerError;
    private readonly RecordBuffer _records = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ConcurrentDictionary<string, PendingInvocation> _pending = new();
    private readonly Channel<ServerInvocation> _dispatch =
        Channel.CreateUnbounded<ServerInvocation>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _aborted = new();
    private readonly TaskCompletionSource<SessionEnd> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ArrayBufferWriter<byte> _sendBuffer = new(4096); // guarded by _sendLock
    private Utf8JsonWriter? _writer;                          // guarded by _sendLock
    private SessionEnd? _end;
    private volatile bool _closed;
    private int _nextInvocationId;
    private long _lastReceived;
    private long _lastSent;

    private HubSession(
        ClientWebSocket socket, string? connectionId, HubConnectionOptions options,
        HandlerRegistry handlers, Action<string, Exception> onHandlerError)
    {
        _socket = socket;
        ConnectionId = connectionId;
        _options = options;
        _handlers = handlers;
        _onHandlerError = onHandlerError;
    }

    public string? ConnectionId { get; }

    /// <summary>Completes once the session is over and every pending invocation has been failed.</summary>
    public Task<SessionEnd> Completion => _completion.Task;

    public static async Task<HubSession> ConnectAsync(
        HttpClient http, Uri hubUrl, HubConnectionOptions options, HandlerRegistry handlers,
        Action<string, Exception> onHandlerError, CancellationToken cancellationToken)
    {
        var negotiation = options.SkipNegotiation
            ? new Negotiation(hubUrl, null, null, options.AccessTokenProvider is null ? null : await options.AccessTokenProvider())
            : await Negotiator.NegotiateAsync(http, hubUrl, options, cancellationToken);

        var socket = new ClientWebSocket();
        try
        {
            foreach (var (name, value) in options.Headers)
            {
                socket.Options.SetRequestHeader(name, value);
            }

            if (negotiation.AccessToken is not null)
            {
                socket.Options.SetRequestHeader("Authorization", "Bearer " + negotiation.AccessToken);
            }

            options.ConfigureWebSocket?.Invoke(socket.Options);
            await socket.ConnectAsync(Negotiator.GetWebSocketUrl(negotiation.Url, negotiation.ConnectionToken), cancellationToken);

            var session = new HubSession(socket, negotiation.ConnectionId, options, handlers, onHandlerError);
            await session.HandshakeAsync(cancellationToken);
            session.Start();
            return session;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public async Task<object?> InvokeAsync(string method, object?[] arguments, Type? resultType, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _nextInvocationId).ToString(CultureInfo.InvariantCulture);
        var pending = new PendingInvocation(resultType);
        _pending[id] = pending;
        if (_closed && _pending.TryRemove(id, out _))
        {
            throw NotConnected();
        }

        try
        {
            await SendAsync(
                (id, method, arguments, _options.JsonSerializerOptions),
                static (writer, s) => JsonHubProtocol.WriteInvocation(writer, s.id, s.method, s.arguments, s.JsonSerializerOptions),
                cancellationToken);
        }
        catch
        {
            _pending.TryRemove(id, out _);
            throw;
        }

        if (!cancellationToken.CanBeCanceled)
        {
            return await pending.Task;
        }

        await using var registration = cancellationToken.Register(() =>
        {
            if (_pending.TryRemove(id, out _))
            {
                pending.TrySetCanceled(cancellationToken);
                _ = SendCancelInvocationAsync(id);
            }
        });
        return await pending.Task;
    }

    public Task SendInvocationAsync(string method, object?[] arguments, CancellationToken cancellationToken) =>
        SendAsync(
            (method, arguments, _options.JsonSerializerOptions),
            static (writer, s) => JsonHubProtocol.WriteInvocation(writer, null, s.method, s.arguments, s.JsonSerializerOptions),
            cancellationToken);

    /// <summary>Graceful stop: tells the server, closes the WebSocket and waits for the session to end.</summary>
    public async Task CloseAsync()
    {
        End(new SessionEnd(null, AllowReconnect: false));
        try
        {
            await SendAsync(0, static (writer, _) => JsonHubProtocol.WriteClose(writer), CancellationToken.None);
            await _sendLock.WaitAsync();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            finally
            {
                _sendLock.Release();
            }

            await Completion.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is HubConnectionClosedException or WebSocketException or OperationCanceledException
                                      or TimeoutException or ObjectDisposedException)
        {
            // The connection is going away anyway; make sure the receive loop stops.
        }

        _aborted.Cancel();
        await Completion;
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        try
        {
            await SendAsync(0, static (writer, _) => writer.WriteRawValue(JsonHubProtocol.HandshakeRequest, skipInputValidation: true), timeout.Token);
            while (true)
            {
                if (_records.TryReadRecord(out var record))
                {
                    if (JsonHubProtocol.ReadHandshakeResponse(record) is { } error)
                    {
                        throw new HubException($"The server rejected the handshake: {error}");
                    }

                    return;
                }

                var result = await _socket.ReceiveAsync(_records.GetWriteMemory(), timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    throw new HubConnectionClosedException(
                        $"The server closed the WebSocket during the handshake ({_socket.CloseStatus} {_socket.CloseStatusDescription}).");
                }

                _records.Advance(result.Count);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The server did not answer the handshake within {_options.HandshakeTimeout.TotalSeconds} s.");
        }
        catch
        {
            _records.Dispose();
            throw;
        }
    }

    private void Start()
    {
        _lastReceived = _lastSent = Environment.TickCount64;
        _ = ReceiveLoopAsync();
        _ = KeepAliveLoopAsync();
        _ = DispatchLoopAsync();
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (true)
            {
                while (_records.TryReadRecord(out var record))
                {
                    if (!ProcessRecord(record))
                    {
                        return;
                    }
                }

                var result = await _socket.ReceiveAsync(_records.GetWriteMemory(), _aborted.Token);
                Volatile.Write(ref _lastReceived, Environment.TickCount64);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    End(new SessionEnd(
                        new HubConnectionClosedException(
                            $"The server closed the WebSocket ({_socket.CloseStatus} {_socket.CloseStatusDescription}) without a Close message."),
                        AllowReconnect: true));
                    return;
                }

                _records.Advance(result.Count);
            }
        }
        catch (Exception e)
        {
            End(new SessionEnd(e is OperationCanceledException ? null : e, AllowReconnect: true));
        }
        finally
        {
            await ShutdownAsync();
        }
    }

    /// <summary>Handles one record; false when it was a Close message.</summary>
    private bool ProcessRecord(ReadOnlyMemory<byte> record)
    {
        using var document = JsonDocument.Parse(record);
        var root = document.RootElement;
        switch (JsonHubProtocol.ReadType(root))
        {
            case HubMessageType.Invocation:
                var target = JsonHubProtocol.GetString(root, "target"u8)
                    ?? throw new InvalidDataException("An Invocation message has no 'target'.");
                // Clone: the handlers run after this record's buffer has been reused.
                var arguments = root.TryGetProperty("arguments"u8, out var args) ? args.Clone() : default;
                _dispatch.Writer.TryWrite(new ServerInvocation(target, arguments, JsonHubProtocol.GetString(root, "invocationId"u8)));
                return true;

            case HubMessageType.Completion:
                var invocationId = JsonHubProtocol.GetString(root, "invocationId"u8)
                    ?? throw new InvalidDataException("A Completion message has no 'invocationId'.");
                if (_pending.TryRemove(invocationId, out var pending))
                {
                    Complete(pending, root);
                }

                return true;

            case HubMessageType.Close:
                var error = JsonHubProtocol.GetString(root, "error"u8);
                var allowReconnect = root.TryGetProperty("allowReconnect"u8, out var allow) && allow.ValueKind == JsonValueKind.True;
                // Null stays reserved for a stop the application asked for: a server-initiated close is
                // reported as an error even without one (Context.Abort() sends a bare {"type":7}).
                End(new SessionEnd(
                    error is null
                        ? new HubConnectionClosedException("The server closed the connection.")
                        : new HubException($"The server closed the connection with an error: {error}"),
                    allowReconnect));
                return false;

            default:
                // Ping only proves liveness (already noted); StreamItem, Ack and Sequence belong to features
                // this client does not negotiate, and unknown types are ignored for forward compatibility.
                return true;
        }
    }

    private void Complete(PendingInvocation pending, JsonElement completion)
    {
        if (JsonHubProtocol.GetString(completion, "error"u8) is { } error)
        {
            pending.TrySetException(new HubException(error));
        }
        else if (pending.ResultType is null || !completion.TryGetProperty("result"u8, out var result))
        {
            pending.TrySetResult(null);
        }
        else
        {
            try
            {
                pending.TrySetResult(result.Deserialize(pending.ResultType, _options.JsonSerializerOptions));
            }
            catch (Exception e) when (e is JsonException or NotSupportedException)
            {
                pending.TrySetException(new InvalidDataException(
                    $"The server's result could not be read as {pending.ResultType.Name}: {e.Message}", e));
            }
        }
    }

    private async Task KeepAliveLoopAsync()
    {
        var keepAlive = Milliseconds(_options.KeepAliveInterval);
        var serverTimeout = Milliseconds(_options.ServerTimeout);
        // A quarter of the shorter interval, up to 5 s: with the default 15 s / 30 s a connection wakes every 3.75 s,
        // which matters to a process holding thousands of them (bench connections); pings still go well in time.
        var tick = Math.Clamp(Math.Min(keepAlive, serverTimeout) / 4, 10, 5000);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(tick));
        try
        {
            while (await timer.WaitForNextTickAsync(_aborted.Token))
            {
                var now = Environment.TickCount64;
                if (now - Volatile.Read(ref _lastReceived) > serverTimeout)
                {
                    End(new SessionEnd(
                        new TimeoutException(
                            $"Nothing was received from the server for {_options.ServerTimeout.TotalSeconds} s (ServerTimeout)."),
                        AllowReconnect: true));
                    _aborted.Cancel();
                    return;
                }

                if (now - Volatile.Read(ref _lastSent) >= keepAlive)
                {
                    await SendAsync(0, static (writer, _) => JsonHubProtocol.WritePing(writer), CancellationToken.None);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or HubConnectionClosedException)
        {
            // The session is ending.
        }
    }

    private async Task DispatchLoopAsync()
    {
        // One invocation at a time, in arrival order, off the receive loop so a handler may itself invoke.
        await foreach (var invocation in _dispatch.Reader.ReadAllAsync())
        {
            if (invocation.InvocationId is { } id)
            {
                await TrySendAsync(
                    id, static (writer, id) => JsonHubProtocol.WriteCompletionError(writer, id, "Client results are not supported by this client."));
                continue;
            }

            foreach (var handler in _handlers.Get(invocation.Target))
            {
                try
                {
                    await handler.Callback(BindArguments(invocation, handler.ParameterTypes));
                }
                catch (Exception e)
                {
                    _onHandlerError(invocation.Target, e);
                }
            }
        }
    }

    private object?[] BindArguments(ServerInvocation invocation, Type[] parameterTypes)
    {
        var arguments = invocation.Arguments;
        var count = arguments.ValueKind == JsonValueKind.Array ? arguments.GetArrayLength() : 0;
        if (count != parameterTypes.Length)
        {
            throw new InvalidDataException(
                $"'{invocation.Target}' arrived with {count} argument(s) but the handler takes {parameterTypes.Length}.");
        }

        var values = new object?[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = arguments[i].Deserialize(parameterTypes[i], _options.JsonSerializerOptions);
        }

        return values;
    }

    private async Task SendAsync<TState>(TState state, Action<Utf8JsonWriter, TState> write, CancellationToken cancellationToken)
    {
        if (_closed)
        {
            throw NotConnected();
        }

        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            if (_closed)
            {
                throw NotConnected();
            }

            if (_writer is null)
            {
                _writer = new Utf8JsonWriter(_sendBuffer);
            }
            else
            {
                _writer.Reset(_sendBuffer);
            }

            write(_writer, state);
            _writer.Flush();
            JsonHubProtocol.Terminate(_sendBuffer);
            // The caller's token only covers waiting for our turn: cancelling a WebSocket write aborts the socket.
            await _socket.SendAsync(_sendBuffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, _aborted.Token);
            Volatile.Write(ref _lastSent, Environment.TickCount64);
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException
                                      || (e is OperationCanceledException && _aborted.IsCancellationRequested))
        {
            throw NotConnected(e);
        }
        finally
        {
            if (_sendBuffer.Capacity > MaxRetainedSendBuffer)
            {
                _sendBuffer = new ArrayBufferWriter<byte>(4096);
            }
            else
            {
                _sendBuffer.ResetWrittenCount();
            }

            _sendLock.Release();
        }
    }

    private async Task TrySendAsync<TState>(TState state, Action<Utf8JsonWriter, TState> write)
    {
        try
        {
            await SendAsync(state, write, CancellationToken.None);
        }
        catch (HubConnectionClosedException)
        {
            // Best effort: nothing to tell a server that is gone.
        }
    }

    private Task SendCancelInvocationAsync(string invocationId) =>
        TrySendAsync(invocationId, static (writer, id) => JsonHubProtocol.WriteCancelInvocation(writer, id));

    private void End(SessionEnd end) => Interlocked.CompareExchange(ref _end, end, null);

    private async Task ShutdownAsync()
    {
        _closed = true;
        var end = _end ?? new SessionEnd(null, AllowReconnect: false);
        foreach (var id in _pending.Keys)
        {
            if (_pending.TryRemove(id, out var pending))
            {
                pending.TrySetException(NotConnected(end.Error));
            }
        }

        _dispatch.Writer.TryComplete();

        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived
            && await _sendLock.WaitAsync(TimeSpan.FromSeconds(1)))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Already broken; disposing below is all that is left.
            }
            finally
            {
                _sendLock.Release();
            }
        }

        _aborted.Cancel();
        _socket.Dispose();
        _records.Dispose();
        _completion.TrySetResult(end);
    }

    private HubConnectionClosedException NotConnected(Exception? reason = null)
    {
        reason ??= _end?.Error;
        return new HubConnectionClosedException(
            reason is null ? "The connection is closed." : $"The connection is closed: {reason.Message}", reason);
    }

    private static long Milliseconds(TimeSpan value) =>
        value <= TimeSpan.Zero ? long.MaxValue / 2 : (long)value.TotalMilliseconds;

    private readonly record struct ServerInvocation(string Target, JsonElement Arguments, string? InvocationId);

    private sealed class PendingInvocation(Type? resultType)
        : TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public Type? ResultType { get; } = resultType;
    }
}
