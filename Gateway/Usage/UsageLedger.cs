using Npgsql;
using NpgsqlTypes;
using ServiceDefaults.Jobs;

namespace Gateway.Usage;

/// <summary>One row of a usage query: jobs of one status for one account, model and time bucket.</summary>
public sealed record UsageRow(string? Account, string Model, DateTimeOffset Bucket, string Status, long Jobs, double ComputeMs, long InputBytes);

/// <summary>The <c>usage_ledger</c> table (created by <see cref="Accounts.AccountsSchema"/>): one row per finished job.</summary>
public sealed class UsageLedger(NpgsqlDataSource database)
{
    /// <summary>
    /// Inserts the events with one statement (arrays unnested), in one round trip; a job already recorded is skipped (the job
    /// id is the key), so a replay is harmless. Returns how many rows were new.
    /// </summary>
    public Task<int> InsertAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken) =>
        Accounts.DatabaseRetry.RunAsync(database, () => InsertCoreAsync(events, cancellationToken), cancellationToken);

    private async Task<int> InsertCoreAsync(IReadOnlyList<UsageEvent> events, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            INSERT INTO usage_ledger (job_id, account_id, model, version, status, error_code, input_bytes, queue_ms, compute_ms,
                                      batch_size, attempts, accepted_at, started_at, finished_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::bigint[],
                                 $8::double precision[], $9::double precision[], $10::integer[], $11::integer[],
                                 $12::timestamptz[], $13::timestamptz[], $14::timestamptz[])
            ON CONFLICT (job_id) DO NOTHING
            """);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.JobId).ToArray() });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.Account).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.Model).ToArray() });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.Version).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.Status).ToArray() });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.ErrorCode).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.InputBytes).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.QueueMs).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.ComputeMs).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Double });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.BatchSize).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.Attempts).ToArray() });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.AcceptedAt.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.StartedAt?.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        p.Add(new NpgsqlParameter { Value = events.Select(e => e.FinishedAt.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Sums per account, model, bucket (<c>day</c> or <c>hour</c>, UTC) and status of jobs finished in [from, to); one account or all.</summary>
    public Task<IReadOnlyList<UsageRow>> QueryAsync(
        string? account, DateTimeOffset from, DateTimeOffset to, string granularity, CancellationToken cancellationToken) =>
        Accounts.DatabaseRetry.RunAsync(database, () => QueryCoreAsync(account, from, to, granularity, cancellationToken), cancellationToken);

    private async Task<IReadOnlyList<UsageRow>> QueryCoreAsync(
        string? account, DateTimeOffset from, DateTimeOffset to, string granularity, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            SELECT account_id, model, date_trunc($1, finished_at, 'UTC') AS bucket, status,
                   count(*), coalesce(sum(compute_ms), 0), coalesce(sum(input_bytes), 0)::bigint
            FROM usage_ledger
            WHERE finished_at >= $2 AND finished_at < $3 AND ($4::text IS NULL OR account_id = $4)
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 2, 3, 4
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = granularity });
        command.Parameters.Add(new NpgsqlParameter { Value = from.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = to.ToUniversalTime(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)account ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<UsageRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageRow(
                reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1),
                new DateTimeOffset(reader.GetFieldValue<DateTime>(2), TimeSpan.Zero), reader.GetString(3),
                reader.GetInt64(4), reader.GetDouble(5), reader.GetInt64(6)));
        }
        return rows;
    }
}
