namespace Client.Bench;

/// <summary>signalr: submit over the hub, result pushed; rest: <c>POST …/predict</c>; jobs: <c>POST …/jobs</c>, then
/// <c>GET /v1/jobs/{id}?wait=</c>; oip: <c>POST /v2/models/{m}/infer</c> (the image base64 in a BYTES input).</summary>
public enum BenchTransport { SignalR, Rest, Jobs, Oip }

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
