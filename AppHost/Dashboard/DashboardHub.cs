using System.Text.Json;
using AppHost.Hosting;
using Microsoft.AspNetCore.SignalR;

namespace AppHost.Dashboard;

/// <summary>The page's live connection: resource snapshots, console log streams and commands.</summary>
internal sealed class DashboardHub(DistributedApplication app, DashboardSampler sampler, ModelAdminClient models) : Hub
{
    public static string LogGroup(string replica) => $"logs:{replica}";

    public DashboardState GetState() => new(
        app.Model.Snapshots,
        sampler.Workers,
        sampler.History,
        app.Resources.OfType<ExecutableResource>().Where(r => r.IsScalable).Select(r => new ScalableResource(r.Name, r.MaxReplicas)).ToList());

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

    /// <summary>Adds a replica of <paramref name="resource"/>; returns its name (the page sees it arrive as a resource).</summary>
    public string ScaleUp(string resource) => Command(() => app.AddReplica(resource));

    /// <summary>Removes the highest-numbered replica gracefully; returns once it has stopped and left the model.</summary>
    public async Task<string> ScaleDown(string resource)
    {
        try
        {
            return await app.RemoveReplicaAsync(resource);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new HubException(e.Message);
        }
    }

    /// <summary>ModelSync's view of every model (its admin API's answer), or null while ModelSync is not reachable.</summary>
    public Task<JsonElement?> GetModels() => models.ListAsync(Context.ConnectionAborted);

    public Task<ModelCommandResult> RollbackModel(string model) => models.RollbackAsync(model, Context.ConnectionAborted);

    private static string Command(Func<string> command)
    {
        try
        {
            return command();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // A HubException's message reaches the page; others are hidden from clients.
            throw new HubException(e.Message);
        }
    }
}

/// <summary>What a page receives when it connects.</summary>
internal sealed record DashboardState(
    IReadOnlyList<ResourceSnapshot> Resources,
    IReadOnlyDictionary<string, WorkerStatus> Workers,
    IReadOnlyList<MetricsSample> Metrics,
    IReadOnlyList<ScalableResource> Scaling);

/// <summary>A resource the page offers +/− for.</summary>
internal sealed record ScalableResource(string Name, int MaxReplicas);
