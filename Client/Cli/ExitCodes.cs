namespace Client.Cli;

/// <summary>What the CLI's exit code means; scripts rely on these.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The run went through but some job did not succeed (failed, expired, cancelled or refused).</summary>
    public const int JobsFailed = 1;

    /// <summary>Bad arguments, missing files, unknown model, or the gateway could not be reached.</summary>
    public const int UsageOrConnection = 2;

    /// <summary>Ctrl+C: the jobs still in flight were cancelled (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
