// The client against the framework's real SignalR server: results, errors, pushes, concurrency, big frames, failures.
using System.Net;
using Client.SignalR;
using HubException = Client.SignalR.HubException;

namespace Client.Tests.SignalR;

public sealed class HubConnectionTests(HubServer server) : IClassFixture<HubServer>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly List<HubConnection> _connections = [];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Invoke_returns_the_hub_methods_result()
    {
        var connection = await StartAsync();

        Assert.Equal("hello", await connection.InvokeAsync<string>("Echo", ["hello"], Cancellation));
        Assert.Equal(5, await connection.InvokeAsync<int>("Add", [2, 3], Cancellation));
        await connection.InvokeAsync("Nothing", [], Cancellation);
        Assert.Equal(HubConnectionState.Connected, connection.State);
        Assert.False(string.IsNullOrEmpty(connection.ConnectionId));
    }

    [Fact]
    public async Task Hub_error_surfaces_as_HubException_with_the_servers_message()
    {
        var connection = await StartAsync();

        var error = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync("Fail", [], Cancellation));

        Assert.Contains("nope", error.Message);
        Assert.Equal(7, await connection.InvokeAsync<int>("Add", [3, 4], Cancellation));
    }

    [Fact]
    public async Task Server_messages_reach_handlers_in_order()
    {
        var connection = await StartAsync();
        var counted = new List<int>();
        var notified = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<int>("Counted", n =>
        {
            counted.Add(n);
            return Task.CompletedTask;
        });
        // Targets match case-insensitively, as the server sends "Notified".
        connection.On<string>("notified", text =>
        {
            notified.TrySetResult(text);
            return Task.CompletedTask;
        });

        await connection.InvokeAsync("SendThree", [], Cancellation);
        await connection.InvokeAsync("Notify", ["done"], Cancellation);

        Assert.Equal("done", await notified.Task.WaitAsync(Patience, Cancellation));
        Assert.Equal([1, 2, 3], counted);
    }

    [Fact]
    public async Task Handler_with_two_arguments_gets_both_and_a_disposed_subscription_gets_nothing()
    {
        var connection = await StartAsync();
        var pairs = new List<(string, int)>();
        var arrived = new[] { NewSignal(), NewSignal() };
        var first = connection.On<string, int>("Pair", (name, count) =>
        {
            pairs.Add((name, count));
            return Task.CompletedTask;
        });
        connection.On<string, int>("Pair", (_, count) =>
        {
            arrived[count - 1].TrySetResult();
            return Task.CompletedTask;
        });

        await connection.InvokeAsync("SendPair", ["a", 1], Cancellation);
        await arrived[0].Task.WaitAsync(Patience, Cancellation);
        first.Dispose();
        await connection.InvokeAsync("SendPair", ["b", 2], Cancellation);
        await arrived[1].Task.WaitAsync(Patience, Cancellation);

        Assert.Equal([("a", 1)], pairs);
    }

    [Fact]
    public async Task A_failing_handler_is_reported_and_later_messages_still_arrive()
    {
        var connection = await StartAsync();
        var failed = new TaskCompletionSource<(string, Exception)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var later = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.HandlerFailed += (target, error) => failed.TrySetResult((target, error));
        connection.On<int>("Counted", n => n == 1 ? throw new InvalidOperationException("boom") : Task.CompletedTask);
        connection.On<int>("Counted", n =>
        {
            if (n == 3)
            {
                later.TrySetResult(n);
            }

            return Task.CompletedTask;
        });

        await connection.InvokeAsync("SendThree", [], Cancellation);

        var (target, error) = await failed.Task.WaitAsync(Patience, Cancellation);
        Assert.Equal("Counted", target, ignoreCase: true);
        Assert.Equal("boom", error.Message);
        Assert.Equal(3, await later.Task.WaitAsync(Patience, Cancellation));
        Assert.Equal(HubConnectionState.Connected, connection.State);
    }

    [Fact]
    public async Task A_handler_may_invoke_the_hub()
    {
        var connection = await StartAsync();
        var echoed = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<string>("Notified", async text => echoed.TrySetResult(await connection.InvokeAsync<string>("Echo", [text + "!"])));

        await connection.SendAsync("Notify", ["hi"], Cancellation);

        Assert.Equal("hi!", await echoed.Task.WaitAsync(Patience, Cancellation));
    }

    [Fact]
    public async Task Hundred_concurrent_invocations_each_get_their_own_result()
    {
        var connection = await StartAsync();

        var results = await Task.WhenAll(
            Enumerable.Range(0, 100).Select(i => connection.InvokeAsync<int>("Add", [i, 1000], Cancellation)));

        Assert.Equal(Enumerable.Range(1000, 100), results);
    }

    [Fact]
    public async Task Megabyte_payload_round_trips()
    {
        var connection = await StartAsync();
        var payload = new byte[1024 * 1024];
        new Random(42).NextBytes(payload);

        Assert.Equal(payload.Length, await connection.InvokeAsync<int>("Length", [payload], Cancellation));
        Assert.Equal(payload, await connection.InvokeAsync<byte[]>("EchoBytes", [payload], Cancellation));
        Assert.Equal("still fine", await connection.InvokeAsync<string>("Echo", ["still fine"], Cancellation));
    }

    [Fact]
    public async Task Server_abort_raises_Closed_once_with_an_error_and_fails_pending_invocations()
    {
        var connection = await StartAsync();
        var closedCount = 0;
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            Interlocked.Increment(ref closedCount);
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        var stalled = connection.InvokeAsync<string>("Stall", [], Cancellation);

        await SendExpectingTheServerToCloseAsync(connection, "Abort");

        var reason = await closed.Task.WaitAsync(Patience, Cancellation);
        Assert.NotNull(reason);
        var failure = await Assert.ThrowsAsync<HubConnectionClosedException>(() => stalled);
        Assert.Contains("closed", failure.Message);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
        await Assert.ThrowsAsync<HubConnectionClosedException>(() => connection.InvokeAsync("Nothing", [], Cancellation));
        await connection.StopAsync();
        Assert.Equal(1, closedCount);
    }

    [Fact]
    public async Task Stop_raises_Closed_without_error()
    {
        var connection = await StartAsync();
        Exception? reason = new InvalidOperationException("not raised");
        connection.Closed += error =>
        {
            reason = error;
            return Task.CompletedTask;
        };

        await connection.StopAsync();

        Assert.Null(reason);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task Cancelled_invocation_throws_and_the_connection_carries_on()
    {
        var connection = await StartAsync();
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.InvokeAsync<string>("Stall", [], cancel.Token));

        Assert.Equal("after", await connection.InvokeAsync<string>("Echo", ["after"], Cancellation));
    }

    [Fact]
    public async Task Negotiate_failure_names_the_url_and_status()
    {
        var wrong = new Uri(server.BaseUrl, "/hubs/missing");
        var connection = Track(new HubConnection(wrong));

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => connection.StartAsync(Cancellation));

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        Assert.Contains("/hubs/missing/negotiate", error.Message);
        Assert.Contains("404", error.Message);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task Access_token_is_sent_as_a_bearer_header()
    {
        var connection = await StartAsync(new HubConnectionOptions { AccessTokenProvider = () => Task.FromResult<string?>("t0ken") });

        Assert.Equal("Bearer t0ken", await connection.InvokeAsync<string>("Authorization", [], Cancellation));
    }

    [Fact]
    public async Task Negotiate_redirect_is_followed_with_its_access_token()
    {
        var connection = await StartAsync(new Uri(server.BaseUrl, "/redirect"));

        Assert.Equal("Bearer redirected", await connection.InvokeAsync<string>("Authorization", [], Cancellation));
    }

    [Fact]
    public async Task Negotiate_error_is_reported()
    {
        var connection = Track(new HubConnection(new Uri(server.BaseUrl, "/refuse")));

        var error = await Assert.ThrowsAsync<HubException>(() => connection.StartAsync(Cancellation));

        Assert.Contains("go away", error.Message);
    }

    [Fact]
    public async Task Server_asking_for_a_client_result_gets_an_error_instead_of_waiting()
    {
        var connection = await StartAsync();
        connection.On("Question", () => Task.CompletedTask);

        var answer = await connection.InvokeAsync<string>("AskCaller", [], Cancellation);

        Assert.StartsWith("failed:", answer);
        Assert.Contains("not supported", answer);
    }

    [Fact]
    public async Task Connecting_without_negotiation_works()
    {
        var connection = await StartAsync(new HubConnectionOptions { SkipNegotiation = true });

        Assert.Equal(3, await connection.InvokeAsync<int>("Add", [1, 2], Cancellation));
    }

    [Fact]
    public async Task Silent_server_is_considered_gone_after_the_server_timeout()
    {
        // The server pings every 15 s, so a 1 s timeout expires first.
        var connection = await StartAsync(new HubConnectionOptions { ServerTimeout = TimeSpan.FromSeconds(1) });
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };

        Assert.IsType<TimeoutException>(await closed.Task.WaitAsync(Patience, Cancellation));
    }

    [Fact]
    public async Task Server_close_without_allowReconnect_is_not_retried()
    {
        var connection = await StartAsync(new HubConnectionOptions { ReconnectDelays = [TimeSpan.Zero] });
        var reconnecting = false;
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Reconnecting += _ =>
        {
            reconnecting = true;
            return Task.CompletedTask;
        };
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };

        // Context.Abort() makes the server send a bare Close message: the client was let go, not lost.
        await SendExpectingTheServerToCloseAsync(connection, "Abort");

        Assert.IsType<HubConnectionClosedException>(await closed.Task.WaitAsync(Patience, Cancellation));
        Assert.False(reconnecting);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task Reconnects_after_the_connection_drops_and_can_invoke_again()
    {
        var connection = await StartAsync(new HubConnectionOptions
        {
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)],
        });
        var firstId = connection.ConnectionId;
        var reconnecting = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Reconnecting += error =>
        {
            reconnecting.TrySetResult(error);
            return Task.CompletedTask;
        };
        connection.Reconnected += id =>
        {
            reconnected.TrySetResult(id);
            return Task.CompletedTask;
        };
        var notified = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.On<string>("Notified", text =>
        {
            notified.TrySetResult(text);
            return Task.CompletedTask;
        });

        await SendExpectingTheServerToCloseAsync(connection, "Drop");

        Assert.NotNull(await reconnecting.Task.WaitAsync(Patience, Cancellation));
        var newId = await reconnected.Task.WaitAsync(Patience, Cancellation);
        Assert.Equal(HubConnectionState.Connected, connection.State);
        Assert.NotEqual(firstId, newId);
        Assert.Equal(9, await connection.InvokeAsync<int>("Add", [4, 5], Cancellation));
        // Client-side handlers survive the reconnect.
        await connection.InvokeAsync("Notify", ["back"], Cancellation);
        Assert.Equal("back", await notified.Task.WaitAsync(Patience, Cancellation));
    }

    [Fact]
    public async Task Reconnects_when_the_server_restarts()
    {
        var first = await HubServer.StartAsync(port: 0);
        var port = first.BaseUrl.Port;
        var delays = Enumerable.Repeat(TimeSpan.FromMilliseconds(250), 40).ToArray();
        var connection = Track(new HubConnection(first.HubUrl, new HubConnectionOptions { ReconnectDelays = delays }));
        await connection.StartAsync(Cancellation);
        var reconnecting = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = NewSignal();
        connection.Reconnecting += error =>
        {
            reconnecting.TrySetResult(error);
            return Task.CompletedTask;
        };
        connection.Reconnected += _ =>
        {
            reconnected.TrySetResult();
            return Task.CompletedTask;
        };

        await first.DisposeAsync();
        Assert.NotNull(await reconnecting.Task.WaitAsync(Patience, Cancellation));
        Assert.Equal(HubConnectionState.Reconnecting, connection.State);
        await using var second = await HubServer.StartAsync(port);
        await reconnected.Task.WaitAsync(Patience, Cancellation);

        Assert.Equal(HubConnectionState.Connected, connection.State);
        Assert.Equal("again", await connection.InvokeAsync<string>("Echo", ["again"], Cancellation));
        await connection.StopAsync();
    }

    [Fact]
    public async Task Stopping_from_the_Reconnected_handler_closes_the_connection()
    {
        var connection = await StartAsync(new HubConnectionOptions { ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200)] });
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Reconnected += _ => connection.StopAsync();
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };

        await SendExpectingTheServerToCloseAsync(connection, "Drop");

        Assert.Null(await closed.Task.WaitAsync(Patience, Cancellation));
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    private Task<HubConnection> StartAsync(HubConnectionOptions? options = null) => StartAsync(server.HubUrl, options);

    private async Task<HubConnection> StartAsync(Uri hubUrl, HubConnectionOptions? options = null)
    {
        var connection = Track(new HubConnection(hubUrl, options));
        await connection.StartAsync(Cancellation);
        return connection;
    }

    /// <summary>The server may close the connection before our own write of the request has completed.</summary>
    private static async Task SendExpectingTheServerToCloseAsync(HubConnection connection, string method)
    {
        try
        {
            await connection.SendAsync(method, [], Cancellation);
        }
        catch (HubConnectionClosedException)
        {
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HubConnection Track(HubConnection connection)
    {
        _connections.Add(connection);
        return connection;
    }
}
