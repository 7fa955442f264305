using System.CommandLine;

namespace Client.Cli;

/// <summary>The <c>--gateway</c> option every command takes; Aspire's service discovery variable supplies the default.</summary>
public static class GatewayOption
{
    public const string DiscoveryVariable = "services__gateway__http__0";

    public static Uri Default =>
        Environment.GetEnvironmentVariable(DiscoveryVariable) is { Length: > 0 } url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri
            : new Uri("http://localhost:8080");

    public static Option<Uri> Create()
    {
        var option = new Option<Uri>("--gateway", "-g")
        {
            Description = $"Gateway base URL (default: ${DiscoveryVariable} or http://localhost:8080)",
            HelpName = "URL",
            DefaultValueFactory = _ => Default,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                {
                    return uri;
                }
                result.AddError($"--gateway needs an http(s) URL, not '{text}'.");
                return null;
            },
        };
        return option;
    }

    /// <summary>
    /// Runs one gateway call of a command. A refusal (problem+json) or an unreachable gateway becomes one line on stderr and
    /// <c>null</c>, for the command to exit with <see cref="ExitCodes.UsageOrConnection"/>.
    /// </summary>
    public static async Task<T?> CallAsync<T>(CliConsole console, Uri gateway, Func<Task<T>> call) where T : class
    {
        try
        {
            return await call();
        }
        catch (InferenceApiException e)
        {
            await console.Error.WriteLineAsync($"error: {e.Detail}");
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutException)
        {
            await console.Error.WriteLineAsync(Unreachable(gateway, e));
        }
        return null;
    }

    /// <summary>The one line shown when the gateway cannot be reached.</summary>
    public static string Unreachable(Uri gateway, Exception error)
    {
        var root = error;
        while (root.InnerException is not null && root is not System.Net.Sockets.SocketException)
        {
            root = root.InnerException;
        }
        return $"cannot reach the gateway at {gateway}: {root.Message}";
    }
}
