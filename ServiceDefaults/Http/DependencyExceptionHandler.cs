// The last line of defence for HTTP endpoints: an exception no handler caught still gets a problem body
// with a stable code. A dependency that is down (Redis reconnecting, the broker restarting) is a 503 the
// client may retry, not a 500; a request ASP.NET could not bind (?wait=abc) keeps its 400.
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client.Exceptions;
using StackExchange.Redis;

namespace ServiceDefaults.Http;

public sealed partial class DependencyExceptionHandler(IProblemDetailsService problems, ILogger<DependencyExceptionHandler> log) : IExceptionHandler
{
    // The same codes the gateway's submit path uses for the same outages.
    public const string StoreUnavailable = "store_unavailable";
    public const string BrokerUnavailable = "broker_unavailable";
    public const string InvalidRequest = "invalid_request";
    public const string InternalError = "internal_error";

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (context.Response.HasStarted)
        {
            return false;
        }

        var dependency = DependencyOf(exception);
        int status;
        string code, title;
        if (exception is BadHttpRequestException bad)
        {
            status = bad.StatusCode;
            code = InvalidRequest;
            title = bad.Message;
        }
        else if (dependency is not null)
        {
            LogDependencyDown(log, context.Request.Method, context.Request.Path, dependency, exception.Message);
            status = StatusCodes.Status503ServiceUnavailable;
            code = dependency == "Redis" ? StoreUnavailable : BrokerUnavailable;
            title = $"{dependency} is unavailable; retry shortly";
            context.Response.Headers.RetryAfter = "1";
        }
        else
        {
            LogUnhandled(log, exception, context.Request.Method, context.Request.Path);
            status = StatusCodes.Status500InternalServerError;
            code = InternalError;
            title = "Internal error";
        }

        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = status,
                Title = title,
                Extensions = { ["code"] = code },
            },
        });
    }

    /// <summary>Which dependency an exception says is down, or null when it is our own failure.</summary>
    public static string? DependencyOf(Exception exception) => exception switch
    {
        RedisConnectionException or RedisTimeoutException => "Redis",
        BrokerUnreachableException or AlreadyClosedException or OperationInterruptedException => "RabbitMQ",
        TimeoutException when exception.Source == "StackExchange.Redis" => "Redis",
        AggregateException { InnerExceptions.Count: 1 } aggregate => DependencyOf(aggregate.InnerException!),
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path}: {Dependency} unavailable ({Reason}); answered 503")]
    private static partial void LogDependencyDown(ILogger log, string method, PathString path, string dependency, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} {Path} failed; answered 500")]
    private static partial void LogUnhandled(ILogger log, Exception exception, string method, PathString path);
}
