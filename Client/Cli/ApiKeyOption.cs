using System.CommandLine;

namespace Client.Cli;

/// <summary>The <c>--api-key</c> option of every command that calls the gateway; <c>ASPIRE_INFERENCE_API_KEY</c> supplies the default.</summary>
public static class ApiKeyOption
{
    public static Option<string?> Create() => new("--api-key")
    {
        Description = $"The account's API key (default: ${InferenceClientOptions.ApiKeyVariable}; the AppHost prints a development key)",
        HelpName = "KEY",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(InferenceClientOptions.ApiKeyVariable) is { Length: > 0 } key ? key : null,
    };
}
