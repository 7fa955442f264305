using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Client.Cli;

/// <summary>
/// <c>models rollback NAME</c>: asks ModelSync's admin API to pin the newest valid version older than the desired one; the
/// workers are then rolled back one step at a time. <c>--wait</c> follows the rollout until every worker serves it.
/// </summary>
public sealed class ModelsRollbackCommand : Command
{
    public const string ModelSyncVariable = "services__modelsync__http__0";
    public const string AdminKeyVariable = "ModelSync__AdminKey";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Argument<string> Model { get; } = new("name") { Description = "Model to roll back" };

    public Option<Uri?> ModelSync { get; } = new("--modelsync")
    {
        Description = $"ModelSync's base URL (default: ${ModelSyncVariable}; the AppHost prints it)",
        HelpName = "URL",
        DefaultValueFactory = _ => Uri.TryCreate(Environment.GetEnvironmentVariable(ModelSyncVariable), UriKind.Absolute, out var uri) ? uri : null,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }

            result.AddError($"--modelsync needs an http(s) URL, not '{text}'.");
            return null;
        },
    };

    public Option<string?> AdminKey { get; } = new("--admin-key")
    {
        Description = $"The admin API key (default: ${AdminKeyVariable}; the AppHost prints it)",
        HelpName = "KEY",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(AdminKeyVariable),
    };

    public Option<bool> Wait { get; } = new("--wait") { Description = "Follow the rollout until every worker serves the version (up to 5 minutes)" };

    public ModelsRollbackCommand(CliConsole console)
        : base("rollback", "Roll a model back to its previous valid version (ModelSync's admin API)")
    {
        Arguments.Add(Model);
        Options.Add(ModelSync);
        Options.Add(AdminKey);
        Options.Add(Wait);
        SetAction((parse, cancellationToken) => RunAsync(console, parse, cancellationToken));
    }

    private async Task<int> RunAsync(CliConsole console, ParseResult parse, CancellationToken cancellationToken)
    {
        var name = parse.GetValue(Model)!;
        if (parse.GetValue(ModelSync) is not { } url)
        {
            await console.Error.WriteLineAsync($"error: pass --modelsync URL or set {ModelSyncVariable}.");
            return ExitCodes.UsageOrConnection;
        }

        if (parse.GetValue(AdminKey) is not { Length: > 0 } key)
        {
            await console.Error.WriteLineAsync($"error: pass --admin-key or set {AdminKeyVariable}.");
            return ExitCodes.UsageOrConnection;
        }

        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Add("X-Admin-Key", key);
        try
        {
            using var response = await http.PostAsync($"admin/models/{Uri.EscapeDataString(name)}/rollback", null, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await console.Error.WriteLineAsync($"error: {await DescribeAsync(response, cancellationToken)}");
                return ExitCodes.UsageOrConnection;
            }

            var model = (await response.Content.ReadFromJsonAsync<AdminModelView>(Json, cancellationToken))!;
            await console.Out.WriteLineAsync($"{name}: rolling back to version {model.Desired}; {Serving(model)}");
            if (!parse.GetValue(Wait))
            {
                return ExitCodes.Ok;
            }

            var deadline = DateTime.UtcNow.AddMinutes(5);
            var last = Serving(model);
            while (DateTime.UtcNow < deadline)
            {
                await Task.Delay(1000, cancellationToken);
                using var poll = await http.GetAsync("admin/models", cancellationToken);
                if (poll.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    continue; // ModelSync's store is busy; it said to try again.
                }

                if (!poll.IsSuccessStatusCode)
                {
                    await console.Error.WriteLineAsync($"error: {await DescribeAsync(poll, cancellationToken)}");
                    return ExitCodes.UsageOrConnection;
                }

                var models = await poll.Content.ReadFromJsonAsync<AdminModelView[]>(Json, cancellationToken);
                model = models?.FirstOrDefault(m => m.Name == name) ?? model;
                if (Serving(model) is var now && now != last)
                {
                    await console.Error.WriteLineAsync($"{name}: {now}");
                    last = now;
                }

                // A drained worker drops out of Serving until it is back: while the rollout runs, it is not over.
                if (model.Rollout is not { State: "running" }
                    && model.Serving.Count > 0 && model.Serving.Values.All(v => v == model.Desired))
                {
                    await console.Out.WriteLineAsync($"{name}: every worker serves version {model.Desired}");
                    return ExitCodes.Ok;
                }

                if (model.Rollout is { State: "rolled-back" or "failed" } rollout && rollout.To == model.Desired)
                {
                    await console.Error.WriteLineAsync($"error: the rollout of version {rollout.To} {rollout.State}: {rollout.Message}");
                    return ExitCodes.JobsFailed;
                }
            }

            await console.Error.WriteLineAsync($"error: not every worker serves version {model.Desired} after 5 minutes; {Serving(model)}");
            return ExitCodes.JobsFailed;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await console.Error.WriteLineAsync($"error: cannot reach ModelSync at {url}: {e.InnerException?.Message ?? e.Message}");
            return ExitCodes.UsageOrConnection;
        }
    }

    private static string Serving(AdminModelView model) =>
        model.Serving.Count == 0
            ? "no worker serves it"
            : $"workers serve {string.Join(", ", model.Serving.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key} v{s.Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}"))}";

    private static async Task<string> DescribeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var detail = "";
        try
        {
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Json, cancellationToken);
            detail = problem.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
        }
        catch (JsonException)
        {
        }

        return response.StatusCode == HttpStatusCode.Unauthorized
            ? $"ModelSync refused the admin key (--admin-key or {AdminKeyVariable})"
            : $"{(int)response.StatusCode} {detail}".Trim();
    }

    /// <summary>The part of ModelSync's GET /admin/models entry the CLI shows.</summary>
    private sealed record AdminModelView(string Name, int? Desired, int? Pinned, Dictionary<string, int?> Serving, RolloutView? Rollout);

    private sealed record RolloutView(int? From, int To, string State, string? Message);
}
