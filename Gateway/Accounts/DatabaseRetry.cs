using Npgsql;

namespace Gateway.Accounts;

/// <summary>
/// One retry for a PostgreSQL call that failed transiently. After PostgreSQL restarts, every idle connection in the pool is
/// dead, and each would fail one request (503) before Npgsql drops it; on a transient failure the pool's idle connections
/// are cleared and the call runs once more on a fresh one. A database that is really down still fails the call.
/// </summary>
public static class DatabaseRetry
{
    public static async Task<T> RunAsync<T>(NpgsqlDataSource database, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (NpgsqlException e) when (e.IsTransient && !cancellationToken.IsCancellationRequested)
        {
            database.Clear();
            return await call();
        }
    }

    public static Task RunAsync(NpgsqlDataSource database, Func<Task> call, CancellationToken cancellationToken) =>
        RunAsync(database, async () => { await call(); return true; }, cancellationToken);
}
