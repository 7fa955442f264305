using System.Text.RegularExpressions;

namespace Contracts.Models;

/// <summary>Model names are what queues and keys are made of: lower-case letters, digits, '.', '_' and '-'.</summary>
public static partial class ModelNames
{
    public static bool IsValid(string name) => Pattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}
