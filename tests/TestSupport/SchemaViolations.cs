// Shared by AppHost.Tests and Deploy.Tests: the failures of a JSON Schema evaluation (JsonSchema.Net) that make the
// instance invalid, one line each.
using System.Text.Json;
using Json.Schema;

namespace TestSupport;

internal static class SchemaViolations
{
    /// <summary>
    /// Every way <paramref name="instance"/> breaks <paramref name="schema"/>, as "instance location: keyword: error";
    /// none when it is valid. The list output holds every subschema that failed, also those whose failure does not
    /// count (an "if" that picks the "else", an anyOf branch beside one that held): a failure is kept only when every
    /// subschema above it failed too.
    /// </summary>
    public static List<string> Of(JsonSchema schema, JsonElement instance)
    {
        var results = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }
        var nodes = results.Details ?? [];
        var valid = nodes.Where(n => n.IsValid).Select(n => n.EvaluationPath.ToString()).ToHashSet(StringComparer.Ordinal);
        var counted = nodes.Where(n => !n.IsValid && !Ancestors(n.EvaluationPath.ToString()).Any(valid.Contains)).ToList();
        var violations = counted
            .Where(n => n.Errors is { Count: > 0 })
            .SelectMany(n => n.Errors!.Select(e => $"{n.InstanceLocation}: {e.Key}: {e.Value}"))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (violations.Count > 0)
        {
            return violations;
        }
        // Some keywords fail without a message: name the deepest failing place then.
        var deepest = counted.MaxBy(n => n.EvaluationPath.ToString().Length);
        return [$"{deepest?.InstanceLocation}: invalid at {deepest?.EvaluationPath}"];
    }

    /// <summary>"/a/b/c" → "/a/b", "/a", "".</summary>
    private static IEnumerable<string> Ancestors(string path)
    {
        for (var cut = path.LastIndexOf('/'); cut >= 0; cut = path.LastIndexOf('/', cut - 1))
        {
            yield return path[..cut];
            if (cut == 0)
            {
                yield break;
            }
        }
    }
}
