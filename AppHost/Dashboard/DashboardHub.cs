using AppHost.Hosting;
using Microsoft.AspNetCore.SignalR;

namespace AppHost.Dashboard;

/// <summary>The page's live connection: resource snapshots, console log streams and commands.</summary>
internal sealed class DashboardHub(DistributedApplication app, DashboardSampler sampler) : Hub
{
    public static string LogGroup(string replica) => $"logs:{replica}";

    public DashboardState GetState() => new(app.Model.Snapshots, sampler.Workers, sampler.History);

    /// <summary>Joins a replica's log stream and returns the lines kept so far.</summary>
    public async Task<IReadOnlyList<LogLine>> SubscribeLogs(string replica, int last)
    {
        var log = app.GetConsoleLog(replica);
        await Groups.AddToGroupAsync(Context.ConnectionId, LogGroup(replica));
        var lines = log.Lines;
        return last > 0 && lines.Count > last ? lines.Skip(lines.Count - last).ToList() : lines;
    }

    public Task UnsubscribeLogs(string replica) => Groups.RemoveFromGroupAsync(Context.ConnectionId, LogGroup(replica));

    public Task Restart(string replica) => app.RestartReplicaAsync(replica);

    public Task Stop(string replica) => app.StopReplicaAsync(replica);

    public void Start(string replica) => app.StartReplica(replica);
}

/// <summary>What a page receives when it connects.</summary>
internal sealed record DashboardState(
    IReadOnlyList<ResourceSnapshot> Resources,
    IReadOnlyDictionary<string, WorkerStatus> Workers,
    IReadOnlyList<MetricsSample> Metrics);
