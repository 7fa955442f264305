using System.CommandLine;

namespace Client.Cli;

/// <summary>The <c>--protocol</c> option of the commands that use the hub.</summary>
public static class ProtocolOption
{
    public static Option<HubProtocol> Create() => new("--protocol")
    {
        Description = "Hub protocol: messagepack (binary, images as raw bytes) or json (text, images base64-encoded)",
        DefaultValueFactory = _ => new InferenceClientOptions().Protocol,
    };
}
