namespace Gateway.Usage;

/// <summary>The <c>Usage</c> section: prices (<c>Usage__Prices__ocr-cls__PerJob=0.001</c> …) and the ledger writer's pace.</summary>
public sealed class UsageOptions
{
    public const string Section = "Usage";

    /// <summary>The currency every amount is in (stated in each answer).</summary>
    public string Currency { get; set; } = "USD";

    /// <summary>Prices of a model not named in <see cref="Prices"/>.</summary>
    public UsagePrice DefaultPrice { get; set; } = new();

    /// <summary>Prices per model name.</summary>
    public Dictionary<string, UsagePrice> Prices { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long an entry may stay pending with a writer (a gateway that died) before another writer claims it.</summary>
    public TimeSpan ClaimAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many events one write takes from the stream.</summary>
    public int BatchSize { get; set; } = 500;

    public UsagePrice PriceOf(string model) => Prices.TryGetValue(model, out var price) ? price : DefaultPrice;
}

/// <summary>What a succeeded job costs: a price per job plus a price per second of compute (the job's share of its batch).</summary>
public sealed class UsagePrice
{
    public decimal PerJob { get; set; }

    public decimal PerComputeSecond { get; set; }
}
