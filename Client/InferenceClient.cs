using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Contracts.Jobs;
using Contracts.Push;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Client;

/// <summary>
/// A typed client of one gateway: jobs over the SignalR hub (results pushed) and the REST API.
/// REST calls work without <see cref="StartAsync"/>; hub calls need it (or use <see cref="ConnectAsync"/>).
/// Errors the gateway reports come out as <see cref="InferenceApiException"/>; a hub call the connection could not
/// carry as <see cref="InferenceConnectionException"/>. Every state of a job surfaces at most once, in order.
/// </summary>
public sealed class InferenceClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HubConnection _hub;
    // Jobs this client follows: completed with the terminal record when it arrives, removed by WaitAsync or Forget.
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JobRecord>> _jobs = new();
    private readonly ConcurrentDictionary<Channel<JobRecord>, byte> _readers = new();
    // Terminal updates of jobs not tracked (yet): a fast job's result can be pushed before Submit's completion is
    // handled and the job tracked. Bounded: the oldest are dropped.
    private readonly ConcurrentDictionary<string, JobRecord> _early = new();
    private readonly ConcurrentQueue<string> _earlyOrder = new();
    private const int EarlyCapacity = 4096;
    // Guards _surfaced, and keeps the updates of one job in order for the application: the stock client hands pushes to
    // their handlers on a loop of their own and answers (Subscribe's record) to their callers, so a push sent before an
    // answer can be handled after it.
    private readonly Lock _publishing = new();
    private readonly SurfacedStates _surfaced;

    public InferenceClient(Uri gateway, InferenceClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(gateway);
        options ??= new InferenceClientOptions();
        Gateway = gateway;
        _http = new HttpClient(options.HttpMessageHandlerFactory?.Invoke() ?? new SocketsHttpHandler(), disposeHandler: true)
        {
            BaseAddress = gateway,
            Timeout = Timeout.InfiniteTimeSpan, // per request instead, so a long-poll can outlast it
        };
        var apiKey = options.ApiKey;
        if (!string.IsNullOrEmpty(apiKey))
        {
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }
        RequestTimeout = options.RequestTimeout;
        Protocol = options.Protocol;
        _surfaced = new SurfacedStates(4 * EarlyCapacity, id => _jobs.TryGetValue(id, out var done) && !done.Task.IsCompleted);
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(gateway, "/hubs/inference"), http =>
            {
                // One WebSocket, no negotiate request: behind a proxy over several gateway replicas the two could land apart.
                http.SkipNegotiation = true;
                http.Transports = HttpTransportType.WebSockets;
                if (!string.IsNullOrEmpty(apiKey))
                {
                    // The stock client sends it as Authorization: Bearer on the WebSocket request (browsers: ?access_token=).
                    http.AccessTokenProvider = () => Task.FromResult<string?>(apiKey);
                }
            })
            // Asked for, but the stock client only reconnects statefully after a negotiate (its connection token), which
            // is skipped here: a lost connection becomes a new one, and pending jobs are subscribed again (Reconnected).
            .WithStatefulReconnect();
        if (options.ReconnectDelays.Count > 0)
        {
            builder.WithAutomaticReconnect([.. options.ReconnectDelays]);
        }
        if (options.Protocol == HubProtocol.MessagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = HubMessagePack.Options);
        }
        _hub = builder.Build();
        _hub.On<JobRecord>("JobUpdated", update =>
        {
            Publish(update);
            return Task.CompletedTask;
        });
        // The gateway asks for every job still awaited to be subscribed again. Not awaited here: the stock client runs
        // handlers one at a time, and the pushes behind this one should not wait for every answer.
        _hub.On("Resync", () =>
        {
            _ = ResubscribeAsync(raiseReconnected: false);
            return Task.CompletedTask;
        });
        _hub.Reconnected += _ => ResubscribeAsync(raiseReconnected: true);
    }

    public Uri Gateway { get; }

    public HubConnectionState State => _hub.State;

    /// <summary>The hub protocol this client speaks (<see cref="InferenceClientOptions.Protocol"/>).</summary>
    public HubProtocol Protocol { get; }

    private TimeSpan RequestTimeout { get; }

    /// <summary>
    /// Raised once for each state of a followed job, in order (queued, running, terminal; a state already passed is
    /// skipped): pushed by the gateway, or returned by a subscribe, whichever comes first.
    /// </summary>
    public event Action<JobRecord>? JobUpdated;

    /// <summary>Raised after the hub connection was lost and restored, once pending jobs are subscribed again.</summary>
    public event Func<Task>? Reconnected;

    /// <summary>Creates a client and opens its hub connection.</summary>
    public static async Task<InferenceClient> ConnectAsync(
        Uri gateway, InferenceClientOptions? options = null, CancellationToken cancellationToken = default)
    {
        var client = new InferenceClient(gateway, options);
        try
        {
            await client.StartAsync(cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken = default) => _hub.StartAsync(cancellationToken);

    // ---- hub ----

    /// <summary>Queues a job over the hub; returns its id once the broker holds it. The job's updates follow.</summary>
    public async Task<string> SubmitAsync(string model, byte[] input, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentNullException.ThrowIfNull(input);
        var id = await Hub(() => _hub.InvokeAsync<string>("Submit", model, input, options, cancellationToken), cancellationToken);
        Track(id);
        return id;
    }

    /// <summary>Follows a job (submitted anywhere); returns its current state, later updates are pushed.</summary>
    public async Task<JobRecord> SubscribeAsync(string jobId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(jobId);
        Track(jobId);
        var record = await Hub(() => _hub.InvokeAsync<JobRecord>("Subscribe", jobId, cancellationToken), cancellationToken);
        Publish(record);
        return record;
    }

    /// <summary>Cancels a job that has not finished; returns its state afterwards.</summary>
    public async Task<JobRecord> CancelAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var record = await Hub(() => _hub.InvokeAsync<JobRecord>("Cancel", jobId, cancellationToken), cancellationToken);
        Publish(record);
        return record;
    }

    /// <summary>
    /// Waits for the job's terminal state, as pushed by the gateway. A job this client did not submit or
    /// subscribe to is subscribed first. Throws <see cref="TimeoutException"/> when it has not finished in time.
    /// </summary>
    public async Task<JobRecord> WaitAsync(string jobId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (!_jobs.ContainsKey(jobId))
        {
            await SubscribeAsync(jobId, cancellationToken);
        }
        var done = _jobs.GetOrAdd(jobId, _ => NewCompletion());
        var record = await done.Task.WaitAsync(timeout, cancellationToken);
        _jobs.TryRemove(new KeyValuePair<string, TaskCompletionSource<JobRecord>>(jobId, done));
        return record;
    }

    /// <summary>Stops tracking a job (its updates still raise <see cref="JobUpdated"/> while the server pushes them).</summary>
    public void Forget(string jobId) => _jobs.TryRemove(jobId, out _);

    /// <summary>Every job update from now until <paramref name="cancellationToken"/> is cancelled or the client is disposed.</summary>
    public async IAsyncEnumerable<JobRecord> UpdatesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var channel = Channel.CreateUnbounded<JobRecord>(new UnboundedChannelOptions { SingleReader = true });
        _readers.TryAdd(channel, 0);
        try
        {
            await foreach (var update in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return update;
            }
        }
        finally
        {
            _readers.TryRemove(channel, out _);
        }
    }

    // ---- REST ----

    /// <summary><c>POST /v1/models/{model}/jobs</c>: queues a job; returns its accepted record.</summary>
    public async Task<JobRecord> SubmitRestAsync(string model, byte[] input, SubmitOptions? options = null, CancellationToken cancellationToken = default)
    {
        var query = options?.TimeoutSeconds is { } timeout
            ? "?timeout=" + timeout.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/models/{Uri.EscapeDataString(model)}/jobs{query}")
        {
            Content = InputContent(input),
        };
        if (options?.IdempotencyKey is { } key)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        return await SendAsync<JobRecord>(request, RequestTimeout, cancellationToken);
    }

    /// <summary><c>GET /v1/jobs/{id}</c>, long-polling up to <paramref name="wait"/> (at most 60 s) for a terminal state.</summary>
    public Task<JobRecord> GetJobAsync(string jobId, TimeSpan? wait = null, CancellationToken cancellationToken = default)
    {
        var query = wait is { } w ? "?wait=" + w.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) : "";
        var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/jobs/{Uri.EscapeDataString(jobId)}{query}");
        return SendAsync<JobRecord>(request, RequestTimeout + (wait ?? TimeSpan.Zero), cancellationToken, dispose: true);
    }

    /// <summary><c>DELETE /v1/jobs/{id}</c>: cancels a job that has not finished.</summary>
    public Task<JobRecord> CancelRestAsync(string jobId, CancellationToken cancellationToken = default) =>
        SendAsync<JobRecord>(new HttpRequestMessage(HttpMethod.Delete, $"/v1/jobs/{Uri.EscapeDataString(jobId)}"),
            RequestTimeout, cancellationToken, dispose: true);

    /// <summary><c>POST /v1/models/{model}/predict</c>: runs one job and returns its succeeded record; a failed job throws.</summary>
    public Task<JobRecord> PredictAsync(string model, byte[] input, CancellationToken cancellationToken = default) =>
        SendAsync<JobRecord>(new HttpRequestMessage(HttpMethod.Post, $"/v1/models/{Uri.EscapeDataString(model)}/predict")
        {
            Content = InputContent(input),
        }, RequestTimeout, cancellationToken, dispose: true);

    /// <summary><c>GET /v1/models</c>.</summary>
    public async Task<IReadOnlyList<ModelSummary>> ListModelsAsync(CancellationToken cancellationToken = default) =>
        await SendAsync<List<ModelSummary>>(new HttpRequestMessage(HttpMethod.Get, "/v1/models"), RequestTimeout, cancellationToken, dispose: true);

    /// <summary><c>GET /v1/usage</c>: the account's finished jobs between <paramref name="from"/> and <paramref name="to"/>, summed per day or hour and model.</summary>
    public Task<UsageReport> GetUsageAsync(DateTimeOffset from, DateTimeOffset to, string granularity = "day", CancellationToken cancellationToken = default) =>
        SendAsync<UsageReport>(new HttpRequestMessage(HttpMethod.Get,
            $"/v1/usage?from={Uri.EscapeDataString(from.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture))}" +
            $"&to={Uri.EscapeDataString(to.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture))}&granularity={Uri.EscapeDataString(granularity)}"),
            RequestTimeout, cancellationToken, dispose: true);

    public async ValueTask DisposeAsync()
    {
        await _hub.DisposeAsync();
        foreach (var reader in _readers.Keys)
        {
            reader.Writer.TryComplete();
        }
        foreach (var job in _jobs.Values)
        {
            job.TrySetException(new ObjectDisposedException(nameof(InferenceClient)));
        }
        _http.Dispose();
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken, bool dispose = false)
    {
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw await InferenceApiException.FromResponseAsync(response, deadline.Token);
            }
            return await response.Content.ReadFromJsonAsync<T>(InferenceClientOptions.Json, deadline.Token)
                ?? throw new InferenceApiException((int)response.StatusCode, "empty_response", "The gateway answered with an empty body.");
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The gateway did not answer within {timeout.TotalSeconds:0} s.", e);
        }
        finally
        {
            if (dispose)
            {
                request.Dispose();
            }
        }
    }

    private static ByteArrayContent InputContent(byte[] input)
    {
        var content = new ByteArrayContent(input);
        // The gateway sniffs images from their bytes; JSON bodies are Open Inference Protocol requests.
        content.Headers.ContentType = new MediaTypeHeaderValue(
            input.Length > 0 && (input[0] == (byte)'{' || input[0] == (byte)'[') ? "application/json" : "application/octet-stream");
        return content;
    }

    private async Task<T> Hub<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (HubException e) when (!IsCloseError(e))
        {
            throw InferenceApiException.FromHubException(e);
        }
        catch (Exception e) when (IsConnectionLoss(e, cancellationToken))
        {
            throw new InferenceConnectionException($"The hub call did not complete: {e.Message}", e);
        }
    }

    /// <summary>
    /// How the stock client reports a call the connection could not carry: not active (InvalidOperationException), lost
    /// (the transport's error, a server timeout), closed without an error (the call is cancelled though nobody asked) or
    /// with one.
    /// </summary>
    private static bool IsConnectionLoss(Exception e, CancellationToken cancellationToken) =>
        e is InvalidOperationException or IOException or WebSocketException or TimeoutException
        || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        || IsCloseError(e);

    /// <summary>The stock client fails the calls in flight with the server's Close error as a HubException of its own wording.</summary>
    private static bool IsCloseError(Exception e) =>
        e is HubException && e.Message.StartsWith("The server closed the connection", StringComparison.Ordinal);

    private void Track(string jobId)
    {
        var done = _jobs.GetOrAdd(jobId, _ => NewCompletion());
        // Added first, checked second (Publish does the reverse), so an early result is never missed by both.
        if (_early.TryRemove(jobId, out var record))
        {
            done.TrySetResult(record);
        }
    }

    private static TaskCompletionSource<JobRecord> NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Publish(JobRecord update)
    {
        lock (_publishing)
        {
            var ahead = _surfaced.TryAdvance(update.Id, update.Status);
            if (update.IsTerminal)
            {
                // A waiter gets the terminal record even when it was surfaced before (a second WaitAsync of one job).
                if (_jobs.TryGetValue(update.Id, out var done))
                {
                    done.TrySetResult(update);
                }
                else if (ahead)
                {
                    KeepEarly(update);
                }
            }
            if (!ahead)
            {
                return;
            }
            foreach (var reader in _readers.Keys)
            {
                reader.Writer.TryWrite(update);
            }
            JobUpdated?.Invoke(update);
        }
    }

    private void KeepEarly(JobRecord update)
    {
        _early[update.Id] = update;
        _earlyOrder.Enqueue(update.Id);
        while (_earlyOrder.Count > EarlyCapacity && _earlyOrder.TryDequeue(out var oldest))
        {
            _early.TryRemove(oldest, out _);
        }
        // Tracked meanwhile: hand it over now.
        if (_jobs.TryGetValue(update.Id, out var done) && _early.TryRemove(update.Id, out var record))
        {
            done.TrySetResult(record);
        }
    }

    /// <summary>
    /// Follows every unfinished job again: after a reconnect (a new connection, maybe on another replica) or when the
    /// gateway asks for it (Resync).
    /// </summary>
    private async Task ResubscribeAsync(bool raiseReconnected)
    {
        var pending = _jobs.Where(j => !j.Value.Task.IsCompleted).Select(j => j.Key).ToList();
        await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
        {
            try
            {
                Publish(await _hub.InvokeAsync<JobRecord>("Subscribe", id, ct));
            }
            catch (HubException e) when (!IsCloseError(e))
            {
                // The job is gone (expired from the store): nothing will ever arrive for it.
                if (_jobs.TryGetValue(id, out var done))
                {
                    done.TrySetException(InferenceApiException.FromHubException(e));
                }
            }
            catch (Exception e) when (IsConnectionLoss(e, ct))
            {
                // Lost again: the next Reconnected runs this once more.
            }
        });
        if (raiseReconnected && Reconnected is { } reconnected)
        {
            await reconnected();
        }
    }
}
