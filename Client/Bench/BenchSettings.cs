namespace Client.Bench;

public enum BenchTransport { SignalR, Rest }

/// <summary>Closed: a fixed number of clients, each sending its next job when the last one finished. Open: jobs
/// sent at a constant rate whatever happens, latency measured from each job's scheduled send time.</summary>
public enum BenchMode { Closed, Open }

/// <summary>What one <c>bench</c> run does.</summary>
public sealed record BenchSettings(
    Uri Gateway,
    string Model,
    BenchTransport Transport,
    BenchMode Mode,
    int Clients,
    double Rate,
    TimeSpan Duration,
    TimeSpan Warmup,
    IReadOnlyList<string> InputFiles,
    double JobTimeoutSeconds = 60,
    HubProtocol Protocol = HubProtocol.MessagePack,
    string? ApiKey = null);
