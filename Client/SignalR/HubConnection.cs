// A small SignalR client over the JSON hub protocol and WebSockets (stand-in for Microsoft.AspNetCore.SignalR.Client).
namespace Client.SignalR;

/// <summary>
/// A connection to a SignalR hub. Handlers registered with <c>On</c> survive reconnects; anything held on the
/// server for a connection (groups, subscriptions) does not, so re-establish it in <see cref="Reconnected"/>.
/// </summary>
public sealed class HubConnection : IAsyncDisposable
{
    private readonly Uri _hubUrl;
    private readonly HubConnectionOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly HandlerRegistry _handlers = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    // True inside the lifetime loop, hence inside Reconnecting/Reconnected/Closed handlers it awaits.
    private readonly AsyncLocal<bool> _inLifetime = new();

    private volatile HubSession? _session;
    private volatile HubConnectionState _state;
    private CancellationTokenSource? _stopping;
    private Task _lifetime = Task.CompletedTask;

    public HubConnection(Uri hubUrl, HubConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(hubUrl);
        _hubUrl = hubUrl;
        _options = options ?? new HubConnectionOptions();
        _ownsHttp = _options.HttpClient is null;
        _http = _options.HttpClient
            ?? new HttpClient(_options.HttpMessageHandlerFactory?.Invoke() ?? new SocketsHttpHandler(), disposeHandler: true);
    }

    public HubConnectionState State => _state;

    /// <summary>The server's id for the current connection (null when skipping negotiation or not connected).</summary>
    public string? ConnectionId => _session?.ConnectionId;

    /// <summary>Raised once per <see cref="StartAsync"/> when the connection is over; null for a requested stop.</summary>
    public event Func<Exception?, Task>? Closed;

    /// <summary>Raised when the connection was lost and automatic reconnect begins.</summary>
    public event Func<Exception?, Task>? Reconnecting;

    /// <summary>Raised with the new connection id after a successful reconnect.</summary>
    public event Func<string?, Task>? Reconnected;

    /// <summary>Raised when an <c>On</c> handler throws or its arguments cannot be read; the connection carries on.</summary>
    public event Action<string, Exception>? HandlerFailed;

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_state != HubConnectionState.Disconnected)
            {
                throw new InvalidOperationException($"StartAsync needs a disconnected connection; it is {_state}.");
            }

            _state = HubConnectionState.Connecting;
            HubSession session;
            try
            {
                session = await ConnectAsync(cancellationToken);
            }
            catch
            {
                _state = HubConnectionState.Disconnected;
                throw;
            }

            _stopping?.Dispose();
            _stopping = new CancellationTokenSource();
            _session = session;
            _state = HubConnectionState.Connected;
            _lifetime = RunLifetimeAsync(session, _stopping.Token);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Closes the connection (or ends reconnecting) and waits until <see cref="Closed"/> has been raised
    /// (called from a Reconnecting/Reconnected/Closed handler, it returns without waiting for that).
    /// </summary>
    public async Task StopAsync()
    {
        if (_state == HubConnectionState.Disconnected)
        {
            return; // also keeps a Closed handler that calls StopAsync from waiting on itself
        }

        Task lifetime;
        HubSession? session;
        await _lifecycle.WaitAsync();
        try
        {
            _stopping?.Cancel();
            session = _session;
            lifetime = _lifetime;
        }
        finally
        {
            _lifecycle.Release();
        }

        if (session is not null)
        {
            await session.CloseAsync();
        }

        if (!_inLifetime.Value)
        {
            // From an event handler the lifetime loop is waiting for us: it finishes (raising Closed) afterwards.
            await lifetime;
        }
    }

    public async Task<TResult> InvokeAsync<TResult>(
        string method, object?[] arguments, CancellationToken cancellationToken = default)
    {
        var result = await CurrentSession(method, arguments).InvokeAsync(method, arguments, typeof(TResult), cancellationToken);
        return result is null ? default! : (TResult)result;
    }

    /// <summary>Invokes a hub method that returns nothing and waits for it to complete.</summary>
    public Task InvokeAsync(string method, object?[] arguments, CancellationToken cancellationToken = default) =>
        CurrentSession(method, arguments).InvokeAsync(method, arguments, resultType: null, cancellationToken);

    /// <summary>Fire and forget: returns once the message is written; the server sends no reply.</summary>
    public Task SendAsync(string method, object?[] arguments, CancellationToken cancellationToken = default) =>
        CurrentSession(method, arguments).SendInvocationAsync(method, arguments, cancellationToken);

    public IDisposable On(string target, Func<Task> handler) =>
        _handlers.Add(target, new Handler([], _ => handler()));

    public IDisposable On<T>(string target, Func<T, Task> handler) =>
        _handlers.Add(target, new Handler([typeof(T)], args => handler((T)args[0]!)));

    public IDisposable On<T1, T2>(string target, Func<T1, T2, Task> handler) =>
        _handlers.Add(target, new Handler([typeof(T1), typeof(T2)], args => handler((T1)args[0]!, (T2)args[1]!)));

    public IDisposable On<T1, T2, T3>(string target, Func<T1, T2, T3, Task> handler) =>
        _handlers.Add(
            target, new Handler([typeof(T1), typeof(T2), typeof(T3)], args => handler((T1)args[0]!, (T2)args[1]!, (T3)args[2]!)));

    /// <summary>Untyped form: arguments are deserialized to <paramref name="parameterTypes"/>.</summary>
    public IDisposable On(string target, Type[] parameterTypes, Func<object?[], Task> handler) =>
        _handlers.Add(target, new Handler(parameterTypes, handler));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private HubSession CurrentSession(string method, object?[] arguments)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        ArgumentNullException.ThrowIfNull(arguments);
        return CurrentSession();
    }

    private HubSession CurrentSession() =>
        _session ?? throw new HubConnectionClosedException($"The connection is not active (state {_state}); call StartAsync first.");

    private Task<HubSession> ConnectAsync(CancellationToken cancellationToken) =>
        HubSession.ConnectAsync(_http, _hubUrl, _options, _handlers, OnHandlerFailed, cancellationToken);

    private async Task RunLifetimeAsync(HubSession session, CancellationToken stopping)
    {
        _inLifetime.Value = true;
        Exception? reason;
        while (true)
        {
            var end = await session.Completion;
            reason = end.Error;
            _session = null;
            if (stopping.IsCancellationRequested || reason is null || !end.AllowReconnect || _options.ReconnectDelays.Count == 0)
            {
                break;
            }

            _state = HubConnectionState.Reconnecting;
            await RaiseAsync(Reconnecting, reason);
            var reconnected = await ReconnectAsync(stopping);
            if (reconnected.Session is null)
            {
                reason = reconnected.LastError;
                break;
            }

            session = reconnected.Session;
            _session = session;
            _state = HubConnectionState.Connected;
            await RaiseAsync(Reconnected, session.ConnectionId);
        }

        _state = HubConnectionState.Disconnected;
        await RaiseAsync(Closed, stopping.IsCancellationRequested ? null : reason);
    }

    private async Task<(HubSession? Session, Exception? LastError)> ReconnectAsync(CancellationToken stopping)
    {
        Exception? lastError = null;
        foreach (var delay in _options.ReconnectDelays)
        {
            try
            {
                await Task.Delay(delay, stopping);
                var session = await ConnectAsync(stopping);
                if (stopping.IsCancellationRequested)
                {
                    await session.CloseAsync();
                    return (null, null);
                }

                return (session, null);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return (null, null);
            }
            catch (Exception e)
            {
                lastError = e;
            }
        }

        return (null, lastError);
    }

    private void OnHandlerFailed(string target, Exception error)
    {
        try
        {
            HandlerFailed?.Invoke(target, error);
        }
        catch
        {
            // An observer that throws must not stop message dispatch.
        }
    }

    private static async Task RaiseAsync<T>(Func<T, Task>? handlers, T argument)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Func<T, Task>>())
        {
            try
            {
                await handler(argument);
            }
            catch
            {
                // One failing observer must not keep the others from hearing about the state change.
            }
        }
    }
}
