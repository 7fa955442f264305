using Npgsql;

namespace Gateway.Accounts;

/// <summary>An API key that works: which key it is (for revoking) and whose account it opens.</summary>
public sealed record ApiKeyOwner(Guid KeyId, Guid AccountId);

/// <summary>Accounts and their API keys in PostgreSQL (the schema is <see cref="AccountsSchema"/>'s).</summary>
public sealed class AccountStore(NpgsqlDataSource database)
{
    /// <summary>
    /// A new account with its first key; the key is returned once and stored only as its hash. The ids and the key are made
    /// before the call and the inserts skip rows that exist, so a retry after a commit whose reply was lost (see
    /// <see cref="DatabaseRetry"/>) writes nothing twice and the key returned is the one stored.
    /// </summary>
    public async Task<(Guid AccountId, Guid KeyId, string Key)> CreateAccountAsync(CancellationToken cancellationToken)
    {
        var accountId = Guid.CreateVersion7();
        var keyId = Guid.CreateVersion7();
        var key = ApiKeys.New();
        await EnsureKeyAsync(accountId, keyId, key, cancellationToken);
        return (accountId, keyId, key);
    }

    /// <summary>A new key for the account, made as <see cref="CreateAccountAsync"/> makes one (a retry stores it once).</summary>
    public async Task<(Guid KeyId, string Key)> CreateKeyAsync(Guid accountId, CancellationToken cancellationToken)
    {
        var keyId = Guid.CreateVersion7();
        var key = ApiKeys.New();
        await DatabaseRetry.RunAsync(database, async () =>
        {
            await using var command = database.CreateCommand("INSERT INTO api_keys (id, account_id, key_hash) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING");
            Add(command.Parameters, keyId, accountId, ApiKeys.Hash(key));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
        return (keyId, key);
    }

    /// <summary>Revokes one of the account's keys; returns its hash (for the other gateways' caches), or null when the account has no such live key.</summary>
    public Task<byte[]?> RevokeKeyAsync(Guid accountId, Guid keyId, CancellationToken cancellationToken) =>
        DatabaseRetry.RunAsync(database, () => RevokeKeyCoreAsync(accountId, keyId, cancellationToken), cancellationToken);

    private async Task<byte[]?> RevokeKeyCoreAsync(Guid accountId, Guid keyId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL RETURNING key_hash");
        Add(command.Parameters, keyId, accountId);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    public Task<ApiKeyOwner?> FindKeyAsync(byte[] hash, CancellationToken cancellationToken) =>
        DatabaseRetry.RunAsync(database, () => FindKeyCoreAsync(hash, cancellationToken), cancellationToken);

    private async Task<ApiKeyOwner?> FindKeyCoreAsync(byte[] hash, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT id, account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
        Add(command.Parameters, hash);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new ApiKeyOwner(reader.GetGuid(0), reader.GetGuid(1)) : null;
    }

    /// <summary>
    /// The account's own limits (null where it has none: the service's default applies, see <see cref="ApiKeyCache.LimitsAsync"/>),
    /// or null when there is no such account.
    /// </summary>
    public Task<AccountLimits?> GetLimitsAsync(Guid accountId, CancellationToken cancellationToken) =>
        DatabaseRetry.RunAsync(database, () => GetLimitsCoreAsync(accountId, cancellationToken), cancellationToken);

    private async Task<AccountLimits?> GetLimitsCoreAsync(Guid accountId, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT jobs_per_second, burst, max_unfinished_jobs FROM accounts WHERE id = $1");
        Add(command.Parameters, accountId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new AccountLimits
        {
            JobsPerSecond = reader.IsDBNull(0) ? null : reader.GetDouble(0),
            Burst = reader.IsDBNull(1) ? null : reader.GetInt32(1),
            MaxUnfinishedJobs = reader.IsDBNull(2) ? null : reader.GetInt32(2),
        };
    }

    /// <summary>Replaces the account's own limits; false when there is no such account.</summary>
    public Task<bool> SetLimitsAsync(Guid accountId, AccountLimits limits, CancellationToken cancellationToken) =>
        DatabaseRetry.RunAsync(database, () => SetLimitsCoreAsync(accountId, limits, cancellationToken), cancellationToken);

    private async Task<bool> SetLimitsCoreAsync(Guid accountId, AccountLimits limits, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            "UPDATE accounts SET jobs_per_second = $2, burst = $3, max_unfinished_jobs = $4 WHERE id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = accountId });
        command.Parameters.Add(Nullable(limits.JobsPerSecond, NpgsqlTypes.NpgsqlDbType.Double));
        command.Parameters.Add(Nullable(limits.Burst, NpgsqlTypes.NpgsqlDbType.Integer));
        command.Parameters.Add(Nullable(limits.MaxUnfinishedJobs, NpgsqlTypes.NpgsqlDbType.Integer));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Makes sure <paramref name="accountId"/> exists and <paramref name="key"/> opens it, in one round trip; idempotent (a new account, the AppHost's development account, a retry).</summary>
    public Task EnsureKeyAsync(Guid accountId, Guid keyId, string key, CancellationToken cancellationToken) =>
        DatabaseRetry.RunAsync(database, () => EnsureKeyCoreAsync(accountId, keyId, key, cancellationToken), cancellationToken);

    private async Task EnsureKeyCoreAsync(Guid accountId, Guid keyId, string key, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Command("INSERT INTO accounts (id) VALUES ($1) ON CONFLICT (id) DO NOTHING", accountId));
        batch.BatchCommands.Add(Command(
            "INSERT INTO api_keys (id, account_id, key_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", keyId, accountId, ApiKeys.Hash(key)));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Nullable(object? value, NpgsqlTypes.NpgsqlDbType type) =>
        new() { Value = value ?? DBNull.Value, NpgsqlDbType = type };

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        Add(command.Parameters, values);
        return command;
    }

    private static void Add(NpgsqlParameterCollection parameters, params object[] values)
    {
        foreach (var value in values)
        {
            parameters.Add(new NpgsqlParameter { Value = value });
        }
    }
}
