using System.Text.RegularExpressions;

namespace Integration.Tests;

internal static partial class HubErrors
{
    /// <summary>The stable code in a hub error ("… HubException: model_not_found: …").</summary>
    public static string? Code(Exception e) => CodePattern().Match(e.Message) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex(@"HubException: ([a-z_]+):")]
    private static partial Regex CodePattern();
}
