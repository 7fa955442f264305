namespace Gateway.Accounts;

/// <summary>The <c>Accounts</c> section (<c>Accounts__OpenRegistration=false</c> …).</summary>
public sealed class AccountsOptions
{
    public const string Section = "Accounts";

    /// <summary>Whether anyone may register with <c>POST /v1/accounts</c> (default); when off it answers 403 <c>registration_closed</c>.</summary>
    public bool OpenRegistration { get; set; } = true;

    /// <summary>How long a gateway trusts what it looked up about a key (revocations reach it through Redis sooner).</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A key the gateway makes sure opens the development account (<see cref="DevelopmentAccountId"/>) at start: the AppHost
    /// passes a fresh one each run and prints it, so a local system works with nothing to register. Unset in production.
    /// </summary>
    public string? DevelopmentKey { get; set; }

    /// <summary>
    /// The limits of an account that has none of its own (<c>Accounts__DefaultLimits__JobsPerSecond=20</c> …); unset, an
    /// account is held only by the global queue cap. An operator sets an account's own with <c>PUT /v1/admin/accounts/{id}/limits</c>.
    /// </summary>
    public AccountLimits DefaultLimits { get; set; } = new();

    /// <summary>Key of the admin API (header <c>X-Admin-Key</c>): accounts' limits. Without one the admin API is off.</summary>
    public string? AdminKey { get; set; }

    public static readonly Guid DevelopmentAccountId = new("00000000-0000-7000-8000-000000000001");
}
