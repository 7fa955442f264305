namespace Gateway.Jobs;

/// <summary>A job refused before anything was queued: an HTTP status, a stable code and a sentence.</summary>
public sealed class SubmissionException(int status, string code, string message, TimeSpan? retryAfter = null) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>The stable <c>code</c> values of the gateway's problem+json answers and hub errors.</summary>
public static class ProblemCodes
{
    public const string InvalidModelName = "invalid_model_name";
    public const string ModelNotFound = "model_not_found";
    public const string ModelUnavailable = "model_unavailable";
    public const string PayloadTooLarge = "payload_too_large";
    public const string EmptyBody = "empty_body";
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string UnsupportedInput = "unsupported_input";
    public const string InvalidInput = "invalid_input";
    public const string InvalidOptions = "invalid_options";
    public const string QueueFull = "queue_full";
    public const string BrokerUnavailable = "broker_unavailable";
    public const string StoreUnavailable = "store_unavailable";
    public const string InvalidJobId = "invalid_job_id";
    public const string JobNotFound = "job_not_found";
    public const string JobAlreadyFinished = "job_already_finished";
    public const string Timeout = "timeout";
    public const string Unauthenticated = "unauthenticated";
    public const string RegistrationClosed = "registration_closed";
    public const string InvalidKeyId = "invalid_key_id";
    public const string KeyNotFound = "key_not_found";
    public const string AccountsUnavailable = "accounts_unavailable";
    public const string RateLimited = "rate_limited";
    public const string AccountNotFound = "account_not_found";
    public const string InvalidAccountId = "invalid_account_id";
    public const string InvalidLimits = "invalid_limits";
    public const string InvalidUsageQuery = "invalid_usage_query";
}
