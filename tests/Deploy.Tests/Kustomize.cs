using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Deploy.Tests;

/// <summary>One object of a rendered overlay.</summary>
internal sealed record KubeObject(JsonObject Json)
{
    public string? ApiVersion => (string?)Json["apiVersion"];
    public string? Kind => (string?)Json["kind"];
    public string? Name => (string?)Json["metadata"]?["name"];
    public string? Namespace => (string?)Json["metadata"]?["namespace"];
    public JsonNode? Spec => Json["spec"];
    public override string ToString() => $"{Kind}/{Name}";

    /// <summary>The pod template's spec of a Deployment or StatefulSet, else null.</summary>
    public JsonObject? PodSpec => Kind is "Deployment" or "StatefulSet" ? Spec?["template"]?["spec"]?.AsObject() : null;

    public JsonObject? PodLabels => Kind is "Deployment" or "StatefulSet" ? Spec?["template"]?["metadata"]?["labels"]?.AsObject() : null;

    public IEnumerable<JsonObject> Containers =>
        (PodSpec?["containers"]?.AsArray() ?? []).Concat(PodSpec?["initContainers"]?.AsArray() ?? []).Select(c => c!.AsObject());
}

/// <summary>`kubectl kustomize` of deploy/k8s/{path}, once per test run.</summary>
internal static class Kustomize
{
    public static string K8sRoot => Repository.PathOf("deploy", "k8s");

    /// <summary>The overlays under deploy/k8s/overlays, as paths relative to deploy/k8s.</summary>
    public static List<string> Overlays() =>
        [.. Directory.GetDirectories(Path.Combine(K8sRoot, "overlays")).Select(d => $"overlays/{Path.GetFileName(d)}").Order(StringComparer.Ordinal)];

    private static readonly ConcurrentDictionary<string, Lazy<Task<List<KubeObject>>>> Rendered = new();

    public static Task<List<KubeObject>> RenderAsync(string path, CancellationToken cancellationToken) =>
        Rendered.GetOrAdd(path, p => new Lazy<Task<List<KubeObject>>>(() => RenderOnceAsync(p, cancellationToken))).Value;

    private static async Task<List<KubeObject>> RenderOnceAsync(string path, CancellationToken cancellationToken)
    {
        var kubectl = Tool.Find("kubectl") ?? throw new InvalidOperationException("kubectl is not installed: run scripts/setup.sh");
        var run = await Tool.RunAsync(kubectl, ["kustomize", Path.Combine(K8sRoot, path)], cancellationToken);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException(run.Describe($"kubectl kustomize {path}"));
        }
        return [.. Yaml.ParseAll(run.Output).Where(d => d is not null).Select(d => new KubeObject(d!.AsObject()))];
    }
}
