using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Deploy.Tests;

/// <summary>
/// What is checked of a rendered object without a cluster: the Kubernetes API's required fields and value rules for the
/// kinds these manifests use (and KEDA's for its two), restated from the API reference; no OpenAPI schema is at hand.
/// </summary>
internal static partial class KubeRules
{
    public const string Namespace = "aspire-inference";

    /// <summary>The apiVersion of every kind an overlay may hold; anything else is reported.</summary>
    public static readonly Dictionary<string, string> Kinds = new(StringComparer.Ordinal)
    {
        ["Namespace"] = "v1",
        ["ConfigMap"] = "v1",
        ["Secret"] = "v1",
        ["Service"] = "v1",
        ["PersistentVolumeClaim"] = "v1",
        ["Deployment"] = "apps/v1",
        ["StatefulSet"] = "apps/v1",
        ["PodDisruptionBudget"] = "policy/v1",
        ["HorizontalPodAutoscaler"] = "autoscaling/v2",
        ["ScaledObject"] = "keda.sh/v1alpha1",
        ["TriggerAuthentication"] = "keda.sh/v1alpha1",
    };

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    public static partial Regex Dns1123Label();

    [GeneratedRegex("^[-._a-zA-Z][-._a-zA-Z0-9]*$")]
    public static partial Regex EnvName();

    // IANA_SVC_NAME: at most 15 lower-case letters, digits and '-', at least one letter, no '--', not starting or ending with '-'.
    [GeneratedRegex("^(?=.*[a-z])(?!.*--)[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")]
    public static partial Regex PortName();

    [GeneratedRegex(@"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")]
    private static partial Regex QuantityPattern();

    /// <summary>A resource quantity ("250m", "1", 1, "512Mi") in base units, or null when it is not one.</summary>
    public static double? Quantity(JsonNode? node)
    {
        var match = QuantityPattern().Match(node?.ToString() ?? "");
        if (!match.Success)
        {
            return null;
        }
        var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return number * match.Groups[3].Value switch
        {
            "m" => 1e-3,
            "k" => 1e3,
            "M" => 1e6,
            "G" => 1e9,
            "T" => 1e12,
            "Ki" => 1024d,
            "Mi" => 1024d * 1024,
            "Gi" => 1024d * 1024 * 1024,
            "Ti" => 1024d * 1024 * 1024 * 1024,
            _ => 1,
        };
    }

    /// <summary>Every required field missing or value out of the API's rules in <paramref name="o"/>, one line each.</summary>
    public static IEnumerable<string> Violations(KubeObject o)
    {
        if (o.Kind is null || !Kinds.TryGetValue(o.Kind, out var apiVersion))
        {
            yield return $"{o}: kind {o.Kind} is not one these manifests may hold";
            yield break;
        }
        if (o.ApiVersion != apiVersion)
        {
            yield return $"{o}: apiVersion {o.ApiVersion}, expected {apiVersion}";
        }
        if (o.Name is not { } name || name.Length > 63 || !Dns1123Label().IsMatch(name))
        {
            yield return $"{o}: metadata.name is missing or not a DNS-1123 label";
        }
        if (o.Kind == "Namespace" ? o.Name != Namespace : o.Namespace != Namespace)
        {
            yield return $"{o}: not in namespace {Namespace} (metadata.namespace {o.Namespace})";
        }
        var spec = o.Spec;
        switch (o.Kind)
        {
            case "ConfigMap":
            case "Secret":
                foreach (var entry in o.Json["data"]?.AsObject() ?? [])
                {
                    if (entry.Value?.GetValueKind() is not System.Text.Json.JsonValueKind.String)
                    {
                        yield return $"{o}: data.{entry.Key} is not a string";
                    }
                }
                break;
            case "Service":
                if (spec?["type"]?.ToString() == "ExternalName")
                {
                    if (string.IsNullOrEmpty(spec["externalName"]?.ToString()))
                    {
                        yield return $"{o}: type ExternalName without externalName";
                    }
                    break;
                }
                if (spec?["selector"] is not JsonObject { Count: > 0 })
                {
                    yield return $"{o}: no selector";
                }
                if (spec?["ports"] is not JsonArray { Count: > 0 } ports)
                {
                    yield return $"{o}: no ports";
                    break;
                }
                foreach (var port in ports)
                {
                    if (port?["port"]?.GetValueKind() is not System.Text.Json.JsonValueKind.Number)
                    {
                        yield return $"{o}: a port without a numeric port";
                    }
                    if (ports.Count > 1 && string.IsNullOrEmpty(port?["name"]?.ToString()))
                    {
                        yield return $"{o}: with several ports, each needs a name";
                    }
                }
                break;
            case "PersistentVolumeClaim":
                if (spec?["accessModes"] is not JsonArray { Count: > 0 } || Quantity(spec["resources"]?["requests"]?["storage"]) is null)
                {
                    yield return $"{o}: accessModes and resources.requests.storage are required";
                }
                break;
            case "Deployment":
            case "StatefulSet":
                foreach (var violation in WorkloadViolations(o))
                {
                    yield return violation;
                }
                break;
            case "PodDisruptionBudget":
                if (spec?["selector"]?["matchLabels"] is not JsonObject { Count: > 0 })
                {
                    yield return $"{o}: no selector.matchLabels";
                }
                if ((spec?["minAvailable"] is null) == (spec?["maxUnavailable"] is null))
                {
                    yield return $"{o}: needs exactly one of minAvailable and maxUnavailable";
                }
                break;
            case "HorizontalPodAutoscaler":
                if (spec?["scaleTargetRef"]?["kind"] is null || spec["scaleTargetRef"]!["name"] is null)
                {
                    yield return $"{o}: scaleTargetRef needs kind and name";
                }
                if (spec?["maxReplicas"]?.GetValue<long>() is not { } max || max < ((long?)spec["minReplicas"] ?? 1))
                {
                    yield return $"{o}: maxReplicas missing or below minReplicas";
                }
                foreach (var metric in spec?["metrics"]?.AsArray() ?? [])
                {
                    if (metric?["type"]?.ToString() != "Resource" || metric["resource"]?["name"] is null || metric["resource"]?["target"]?["type"] is null)
                    {
                        yield return $"{o}: a metric that is not a Resource metric with name and target.type";
                    }
                }
                break;
            case "ScaledObject":
                if (spec?["scaleTargetRef"]?["name"] is null)
                {
                    yield return $"{o}: scaleTargetRef.name is required";
                }
                if (spec?["triggers"] is not JsonArray { Count: > 0 } triggers)
                {
                    yield return $"{o}: no triggers";
                    break;
                }
                if ((long?)spec["minReplicaCount"] is { } min && (long?)spec["maxReplicaCount"] is { } maxCount && min > maxCount)
                {
                    yield return $"{o}: minReplicaCount above maxReplicaCount";
                }
                foreach (var trigger in triggers)
                {
                    if (string.IsNullOrEmpty(trigger?["type"]?.ToString()) || trigger["metadata"] is not JsonObject metadata)
                    {
                        yield return $"{o}: a trigger without type or metadata";
                        continue;
                    }
                    // The CRD's metadata is a map of strings: a bare number or boolean is refused by the API server.
                    foreach (var entry in metadata.Where(e => e.Value?.GetValueKind() is not System.Text.Json.JsonValueKind.String))
                    {
                        yield return $"{o}: trigger metadata {entry.Key} is not a string";
                    }
                }
                break;
            case "TriggerAuthentication":
                foreach (var reference in spec?["secretTargetRef"]?.AsArray() ?? [])
                {
                    if (reference?["parameter"] is null || reference["name"] is null || reference["key"] is null)
                    {
                        yield return $"{o}: a secretTargetRef needs parameter, name and key";
                    }
                }
                break;
        }
    }

    private static IEnumerable<string> WorkloadViolations(KubeObject o)
    {
        var selector = o.Spec?["selector"]?["matchLabels"]?.AsObject();
        var labels = o.PodLabels;
        if (selector is not { Count: > 0 } || labels is null || selector.Any(s => labels[s.Key]?.ToString() != s.Value?.ToString()))
        {
            yield return $"{o}: selector.matchLabels missing or not matched by the pod template's labels";
        }
        if (o.Kind == "StatefulSet" && string.IsNullOrEmpty(o.Spec?["serviceName"]?.ToString()))
        {
            yield return $"{o}: serviceName is required";
        }
        var containers = o.Containers.ToList();
        if (containers.Count == 0)
        {
            yield return $"{o}: no containers";
        }
        foreach (var container in containers)
        {
            var at = $"{o} container {container["name"]}";
            if (string.IsNullOrEmpty(container["name"]?.ToString()) || string.IsNullOrEmpty(container["image"]?.ToString()))
            {
                yield return $"{at}: name and image are required";
            }
            foreach (var port in container["ports"]?.AsArray() ?? [])
            {
                if (port?["containerPort"]?.GetValueKind() is not System.Text.Json.JsonValueKind.Number)
                {
                    yield return $"{at}: a port without a numeric containerPort";
                }
                if (port?["name"]?.ToString() is { } portName && !PortName().IsMatch(portName))
                {
                    yield return $"{at}: port name {portName} is not an IANA service name";
                }
            }
            foreach (var variable in container["env"]?.AsArray() ?? [])
            {
                if (variable?["name"]?.ToString() is not { } envName || !EnvName().IsMatch(envName))
                {
                    yield return $"{at}: env name {variable?["name"]} is not valid";
                }
                if (variable?["value"] is not null && variable["valueFrom"] is not null)
                {
                    yield return $"{at}: env {variable["name"]} has both value and valueFrom";
                }
            }
            foreach (var resource in new[] { "cpu", "memory" })
            {
                var request = Quantity(container["resources"]?["requests"]?[resource]);
                var limit = Quantity(container["resources"]?["limits"]?[resource]);
                if (request is null || limit is null)
                {
                    yield return $"{at}: resources.requests and .limits of {resource} are required here";
                }
                else if (request > limit)
                {
                    yield return $"{at}: {resource} request above its limit";
                }
            }
            // Extended resources (a GPU) cannot be overcommitted: request and limit must be equal.
            foreach (var extended in (container["resources"]?["limits"]?.AsObject() ?? []).Where(r => r.Key.Contains('/')))
            {
                var request = container["resources"]?["requests"]?[extended.Key];
                if (request is not null && Quantity(request) != Quantity(extended.Value))
                {
                    yield return $"{at}: {extended.Key} request differs from its limit";
                }
            }
        }
    }
}
