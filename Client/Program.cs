// The Aspire.Inference CLI: `infer` and `models list` (see Client/Cli).
using Client.Cli;

return await CliApp.RunAsync(args, CliConsole.System());
