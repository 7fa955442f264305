using System.Globalization;
using Gateway.Accounts;
using Gateway.Jobs;
using Microsoft.Extensions.Options;
using Npgsql;
using ServiceDefaults.Http;

namespace Gateway.Usage;

/// <summary>
/// <c>GET /v1/usage?from=&amp;to=&amp;granularity=day|hour</c>: the caller's finished jobs from the ledger, summed per time
/// bucket and model, with the amount they cost; <c>GET /v1/admin/usage</c> the same for every account (header X-Admin-Key).
/// </summary>
public static class UsageApi
{
    /// <summary>One bucket of one model (of one account): how many jobs ended how, what they used, what they cost.</summary>
    public sealed record UsageLine(
        Guid? AccountId, DateTimeOffset Start, string Model, long Jobs, long Succeeded, long Failed, long Expired, long Cancelled,
        double ComputeSeconds, long InputBytes, decimal Amount);

    public sealed record UsageReport(
        DateTimeOffset From, DateTimeOffset To, string Granularity, string Currency, IReadOnlyList<UsageLine> Lines, long Jobs, decimal Amount);

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/usage", (HttpContext context, UsageLedger ledger, IOptions<UsageOptions> options, CancellationToken cancellationToken) =>
            ReportAsync(context, context.User.AccountId(), ledger, options.Value, cancellationToken)).RequireAuthorization();
        app.MapGroup("/v1/admin").AllowAnonymous()
            .RequireAdminKey(services => services.GetRequiredService<IOptions<AccountsOptions>>().Value.AdminKey, "Accounts:AdminKey (environment Accounts__AdminKey)")
            .MapGet("/usage", (HttpContext context, UsageLedger ledger, IOptions<UsageOptions> options, CancellationToken cancellationToken) =>
                ReportAsync(context, context.Request.Query["account"] is { Count: > 0 } a && Guid.TryParse(a, out var id) ? id : null,
                    ledger, options.Value, cancellationToken, admin: true));
        return app;
    }

    private static async Task<IResult> ReportAsync(
        HttpContext context, Guid? account, UsageLedger ledger, UsageOptions options, CancellationToken cancellationToken, bool admin = false)
    {
        var query = context.Request.Query;
        if (!TryTime(query["from"], out var from) || !TryTime(query["to"], out var to) || to <= from)
        {
            return JobsApi.Problem(new SubmissionException(400, ProblemCodes.InvalidUsageQuery,
                "Give from and to as ISO 8601 times (2026-12-01 or 2026-12-01T10:00:00Z), from before to."));
        }
        var granularity = query["granularity"].ToString() is { Length: > 0 } g ? g : "day";
        if (granularity is not ("day" or "hour"))
        {
            return JobsApi.Problem(new SubmissionException(400, ProblemCodes.InvalidUsageQuery, "granularity is day or hour."));
        }
        if (admin && query["account"] is { Count: > 0 } given && !Guid.TryParse(given, out _))
        {
            return JobsApi.Problem(new SubmissionException(400, ProblemCodes.InvalidAccountId, "An account id is a UUID, as POST /v1/accounts returned it."));
        }
        IReadOnlyList<UsageRow> rows;
        try
        {
            rows = await ledger.QueryAsync(account?.ToString(), from, to, granularity, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return JobsApi.Problem(new SubmissionException(503, ProblemCodes.AccountsUnavailable,
                "The accounts database is unavailable; retry shortly.", TimeSpan.FromSeconds(2)));
        }
        var lines = rows
            .GroupBy(r => (r.Account, r.Bucket, r.Model))
            .Select(g =>
            {
                long Count(string status) => g.Where(r => r.Status == status).Sum(r => r.Jobs);
                var succeeded = g.Where(r => r.Status == "succeeded").ToList();
                var price = options.PriceOf(g.Key.Model);
                var computeSeconds = g.Sum(r => r.ComputeMs) / 1000;
                // Billed: each succeeded job, and the compute time of succeeded jobs. Failed, expired and cancelled jobs cost nothing.
                var amount = price.PerJob * succeeded.Sum(r => r.Jobs) + price.PerComputeSecond * (decimal)(succeeded.Sum(r => r.ComputeMs) / 1000);
                return new UsageLine(Guid.TryParse(g.Key.Account, out var id) ? id : null, g.Key.Bucket, g.Key.Model, g.Sum(r => r.Jobs),
                    Count("succeeded"), Count("failed"), Count("expired"), Count("cancelled"), computeSeconds, g.Sum(r => r.InputBytes), amount);
            })
            .ToList();
        return TypedResults.Ok(new UsageReport(from, to, granularity, options.Currency, lines, lines.Sum(l => l.Jobs), lines.Sum(l => l.Amount)));
    }

    private static bool TryTime(string? value, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
}
