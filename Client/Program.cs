// The Aspire.Inference CLI: `infer`, `models list` and `bench` (see Client/Cli, Client/Bench).
using Client.Cli;

return await CliApp.RunAsync(args, CliConsole.System());
