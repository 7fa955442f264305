// The accounts schema in PostgreSQL, owned by the gateway: created and upgraded by these migrations when a gateway starts,
// never by hand. Replicas starting together take turns on an advisory lock, so each step runs once.
using Microsoft.Extensions.Options;
using Npgsql;

namespace Gateway.Accounts;

public sealed partial class AccountsSchema(
    NpgsqlDataSource database, AccountStore store, IOptions<AccountsOptions> options, ILogger<AccountsSchema> log) : IHostedService
{
    /// <summary>The advisory lock the migrating gateway holds (any 64-bit number no other code in the database uses).</summary>
    private const long MigrationLock = 0x4149_4143_4354; // "AIACCT"

    /// <summary>Numbered steps, applied in order, each once; a released step is never edited, only followed by a new one.</summary>
    internal static readonly IReadOnlyList<(int Version, string Name, string Sql)> Migrations =
    [
        (1, "accounts and API keys", """
            CREATE TABLE accounts (
                id         uuid PRIMARY KEY,
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE api_keys (
                id         uuid PRIMARY KEY,
                account_id uuid NOT NULL REFERENCES accounts (id),
                key_hash   bytea NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now(),
                revoked_at timestamptz
            );
            CREATE INDEX api_keys_account_id ON api_keys (account_id);
            """),
        (2, "account limits", """
            ALTER TABLE accounts
                ADD COLUMN jobs_per_second     double precision,
                ADD COLUMN burst               integer,
                ADD COLUMN max_unfinished_jobs integer;
            """),
        (3, "usage ledger", """
            CREATE TABLE usage_ledger (
                job_id      text PRIMARY KEY,
                account_id  text,
                model       text NOT NULL,
                version     integer,
                status      text NOT NULL,
                error_code  text,
                input_bytes bigint,
                queue_ms    double precision,
                compute_ms  double precision,
                batch_size  integer,
                attempts    integer NOT NULL,
                accepted_at timestamptz NOT NULL,
                started_at  timestamptz,
                finished_at timestamptz NOT NULL,
                recorded_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX usage_ledger_account_finished ON usage_ledger (account_id, finished_at);
            CREATE INDEX usage_ledger_finished ON usage_ledger (finished_at);
            """),
    ];

    /// <summary>
    /// Runs before the gateway listens: a gateway never serves an older schema than its code expects. Then makes sure the
    /// development key (when configured: the AppHost's) opens the development account.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await MigrateAsync(cancellationToken);
                if (options.Value.DevelopmentKey is { Length: > 0 } key)
                {
                    await store.EnsureKeyAsync(AccountsOptions.DevelopmentAccountId, Guid.CreateVersion7(), key, cancellationToken);
                }
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && attempt < 30)
            {
                // Standalone (Kubernetes), the database may still be starting; the AppHost waits for it instead.
                LogDatabaseUnavailable(log, e.Message, attempt);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock($1)", cancellationToken, MigrationLock);
        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, cancellationToken);
        var applied = new HashSet<int>();
        await using (var select = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
        await using (var reader = await select.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }
        foreach (var (version, name, sql) in Migrations.Where(m => !applied.Contains(m.Version)))
        {
            await ExecuteAsync(connection, sql, cancellationToken);
            await ExecuteAsync(connection, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", cancellationToken, version, name);
            LogApplied(log, version, name);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Accounts schema: applied migration {Version} ({Name})")]
    private static partial void LogApplied(ILogger log, int version, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Accounts database unavailable ({Reason}); migration attempt {Attempt} of 30, retrying in 1 s")]
    private static partial void LogDatabaseUnavailable(ILogger log, string reason, int attempt);
}
