using System.CommandLine;
using Spectre.Console;

namespace Client.Cli;

/// <summary><c>models list</c>: the models the gateway knows, their versions and which versions workers serve; with
/// <c>models publish</c> and <c>models rollback</c>.</summary>
public static class ModelsCommand
{
    public static Command Create(CliConsole console)
    {
        var gateway = GatewayOption.Create();
        var apiKey = ApiKeyOption.Create();
        var list = new Command("list", "List the models, their tasks and versions, and which versions are being served") { gateway, apiKey };
        list.SetAction(async (parse, cancellationToken) =>
        {
            var uri = parse.GetValue(gateway)!;
            await using var client = new InferenceClient(uri, new InferenceClientOptions { ApiKey = parse.GetValue(apiKey) });
            var models = await GatewayOption.CallAsync(console, uri, () => client.ListModelsAsync(cancellationToken));
            if (models is null)
            {
                return ExitCodes.UsageOrConnection;
            }
            WriteTable(console.Ansi, models);
            return ExitCodes.Ok;
        });
        return new Command("models", "Models: list what the gateway serves, publish a version to the bucket, roll back")
        {
            list,
            new ModelsPublishCommand(console),
            new ModelsRollbackCommand(console),
        };
    }

    public static void WriteTable(IAnsiConsole console, IEnumerable<ModelSummary> models)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("Model").AddColumn("Task").AddColumn("Versions")
            .AddColumn(new TableColumn("Latest").RightAligned()).AddColumn("Serving").AddColumn("Ready");
        foreach (var model in models.OrderBy(m => m.Name, StringComparer.Ordinal))
        {
            table.AddRow(
                new Text(model.Name),
                new Text(model.Task),
                new Text(string.Join(", ", model.Versions)),
                new Text(model.LatestVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Text(model.ServingVersions.Count > 0 ? string.Join(", ", model.ServingVersions) : "-"),
                new Markup(model.Ready ? "[green]yes[/]" : "[yellow]no[/]"));
        }
        console.Write(table);
    }
}
