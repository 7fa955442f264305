using System.CommandLine;

namespace Client.Cli;

/// <summary>The command tree, and running it with the exit codes of <see cref="ExitCodes"/>.</summary>
public static class CliApp
{
    public static RootCommand Create(CliConsole console) => new("Aspire.Inference client: run models on images through the gateway")
    {
        new InferCommand(console),
        ModelsCommand.Create(console),
        new BenchCommand(console),
        new UsageCommand(console),
    };

    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        var parse = Create(console).Parse(args);
        var configuration = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            // Ctrl+C cancels the action's token; give it time to cancel the jobs in flight.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(5),
        };
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var error in parse.Errors)
            {
                await console.Error.WriteLineAsync($"error: {error.Message}");
            }
            await console.Error.WriteLineAsync("Run with --help for usage.");
            return ExitCodes.UsageOrConnection;
        }
        return await parse.InvokeAsync(configuration, cancellationToken);
    }
}
