// Every kustomize overlay under deploy/k8s/overlays, rendered with `kubectl kustomize` and checked object by object
// offline: known kinds and their required fields (KubeRules), probes on /health and /alive, grace periods that cover a
// drain, every variable the services read, references that resolve, KEDA triggers on every model's queue, the GPU pool.
// Without a cluster nothing here shows that the API server admits the objects, that KEDA is installed, or that a pod
// runs: see README, "Deploying".
using System.Text;
using System.Text.Json.Nodes;

namespace Deploy.Tests;

public sealed class KustomizeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Overlays => new(Kustomize.Overlays());

    [Fact]
    public void The_cpu_gpu_and_try_it_overlays_exist()
    {
        Assert.Equal(new[] { "overlays/cpu", "overlays/gpu", "overlays/try-it" }, Kustomize.Overlays());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Overlay_renders_known_kinds_with_their_required_fields(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);

        Assert.Empty(objects.SelectMany(KubeRules.Violations));
        Assert.Empty(objects.GroupBy(o => $"{o.Kind}/{o.Name}").Where(g => g.Count() > 1).Select(g => g.Key));
        Assert.Contains(objects, o => o.Kind == "Namespace" && o.Name == KubeRules.Namespace);
        foreach (var service in ServiceFacts.Services)
        {
            Assert.Contains(objects, o => o.Kind == "Deployment" && o.Name == service);
            Assert.Contains(objects, o => o.Kind == "Service" && o.Name == service);
            Assert.Contains(objects, o => o.Kind == "PodDisruptionBudget" && o.Name == service);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Services_probe_health_and_alive_and_get_the_time_a_drain_takes(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);
        // A stopping host: every hosted service within ShutdownTimeout (the worker's batch in hand included), then the
        // last OTLP export; then the process exits. The kubelet's SIGKILL must come later.
        var drain = ServiceFacts.ShutdownTimeout + ServiceFacts.OtlpExportTimeout;

        foreach (var service in ServiceFacts.Services)
        {
            var deployment = Workload(objects, service);
            var pod = deployment.PodSpec!;
            var container = Assert.Single(deployment.Containers);
            var grace = (long?)pod["terminationGracePeriodSeconds"] ?? 30;
            Assert.True(grace >= drain.TotalSeconds + 5, $"{service}: terminationGracePeriodSeconds {grace} does not cover a drain of {drain.TotalSeconds} s and 5 s to spare");

            Assert.Equal("/health", (string?)container["readinessProbe"]?["httpGet"]?["path"]);
            Assert.Equal("/alive", (string?)container["livenessProbe"]?["httpGet"]?["path"]);
            Assert.Equal("/alive", (string?)container["startupProbe"]?["httpGet"]?["path"]);
            var ports = (container["ports"]?.AsArray() ?? []).Select(p => p!["name"]?.ToString()).ToList();
            foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
            {
                Assert.Contains(container[probe]!["httpGet"]!["port"]!.ToString(), ports);
            }

            // Non-root, by the number the image's user has (ContainerSettingsTests checks the projects say the same).
            Assert.True((bool?)pod["securityContext"]?["runAsNonRoot"], $"{service}: runAsNonRoot is not set");
            Assert.Equal(1654, (long?)pod["securityContext"]?["runAsUser"]);
            Assert.False((bool?)container["securityContext"]?["allowPrivilegeEscalation"] ?? true, $"{service}: may escalate privileges");
            if ((bool?)container["securityContext"]?["readOnlyRootFilesystem"] == true)
            {
                // .NET and the model cache write under /tmp.
                Assert.Contains(container["volumeMounts"]?.AsArray() ?? [], m => (string?)m!["mountPath"] == "/tmp");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_variable_the_services_read_is_set_and_every_reference_resolves(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);

        foreach (var workload in objects.Where(o => o.PodSpec is not null))
        {
            foreach (var container in workload.Containers)
            {
                var problems = new List<string>();
                var environment = ContainerEnvironment(objects, container, problems);
                Assert.True(problems.Count == 0, $"{workload}: {string.Join("; ", problems)}");
                if (!ServiceFacts.Services.Contains(workload.Name))
                {
                    continue;
                }
                var missing = ServiceFacts.RequiredVariables(workload.Name!).Except(environment.Keys).ToList();
                Assert.True(missing.Count == 0, $"{workload} does not set {string.Join(", ", missing)}");
                Assert.Equal(workload.Name, environment["OTEL_SERVICE_NAME"]);
                Assert.StartsWith("service.instance.id=", environment["OTEL_RESOURCE_ATTRIBUTES"], StringComparison.Ordinal);
                var port = container["ports"]!.AsArray().Select(p => p!["containerPort"]!.ToString()).Single();
                Assert.EndsWith($":{port}", environment["ASPNETCORE_URLS"], StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Services_and_budgets_select_pods_and_name_their_ports(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);
        var workloads = objects.Where(o => o.PodSpec is not null).ToList();

        foreach (var service in objects.Where(o => o.Kind == "Service" && o.Spec?["type"]?.ToString() != "ExternalName"))
        {
            var selected = workloads.Where(w => Selects(service.Spec!["selector"]!.AsObject(), w.PodLabels)).ToList();
            Assert.True(selected.Count == 1, $"{service} selects {selected.Count} workloads");
            var ports = selected[0].Containers.SelectMany(c => c["ports"]?.AsArray() ?? []).ToList();
            foreach (var port in service.Spec!["ports"]!.AsArray())
            {
                var target = port!["targetPort"]?.ToString() ?? port["port"]!.ToString();
                Assert.Contains(ports, p => p!["name"]?.ToString() == target || p["containerPort"]!.ToString() == target);
            }
        }
        foreach (var budget in objects.Where(o => o.Kind == "PodDisruptionBudget"))
        {
            Assert.Single(workloads, w => Selects(budget.Spec!["selector"]!["matchLabels"]!.AsObject(), w.PodLabels));
        }
        foreach (var statefulSet in objects.Where(o => o.Kind == "StatefulSet"))
        {
            var governing = Assert.Single(objects, o => o.Kind == "Service" && o.Name == statefulSet.Spec!["serviceName"]!.ToString());
            Assert.Equal("None", governing.Spec?["clusterIP"]?.ToString());
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Keda_scales_the_workers_on_every_model_queue_and_an_hpa_the_gateways_on_cpu(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);

        var scaled = Assert.Single(objects, o => o.Kind == "ScaledObject");
        Assert.Equal("worker", scaled.Spec!["scaleTargetRef"]!["name"]!.ToString());
        // Not to zero: a gateway refuses jobs for a model no worker served for 30 s, so the queues would stay empty.
        Assert.True((long?)scaled.Spec["minReplicaCount"] >= 1);
        var triggers = scaled.Spec["triggers"]!.AsArray().Select(t => t!.AsObject()).ToList();
        Assert.All(triggers, t => Assert.Equal("rabbitmq", t["type"]!.ToString()));
        Assert.Equal(ServiceFacts.ModelQueues(), triggers.Select(t => t["metadata"]!["queueName"]!.ToString()).Order(StringComparer.Ordinal));
        foreach (var trigger in triggers)
        {
            var metadata = trigger["metadata"]!;
            Assert.Equal("QueueLength", metadata["mode"]?.ToString());
            Assert.True(double.TryParse(metadata["value"]?.ToString(), System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0);
            // Ready and unacknowledged jobs: only RabbitMQ's management API (protocol http) counts both.
            Assert.Equal("http", metadata["protocol"]?.ToString());
            var authentication = Assert.Single(objects, o => o.Kind == "TriggerAuthentication" && o.Name == trigger["authenticationRef"]?["name"]?.ToString());
            var host = Assert.Single(authentication.Spec!["secretTargetRef"]!.AsArray(), r => r!["parameter"]!.ToString() == "host")!;
            var problems = new List<string>();
            var uri = SecretValue(objects, host["name"]!.ToString(), host["key"]!.ToString(), optional: false, problems);
            Assert.Empty(problems);
            Assert.StartsWith("http", uri, StringComparison.Ordinal);
            // KEDA's operator resolves the name from its own namespace: a Service of ours must carry the namespace.
            var management = new Uri(uri!).Host;
            Assert.EndsWith($".{KubeRules.Namespace}.svc", management, StringComparison.Ordinal);
            AssertHostIsAService(objects, management);
        }

        var hpa = Assert.Single(objects, o => o.Kind == "HorizontalPodAutoscaler");
        Assert.Equal("Deployment", hpa.Spec!["scaleTargetRef"]!["kind"]!.ToString());
        Assert.Equal("gateway", hpa.Spec["scaleTargetRef"]!["name"]!.ToString());
        var metric = Assert.Single(hpa.Spec["metrics"]!.AsArray())!;
        Assert.Equal("cpu", metric["resource"]!["name"]!.ToString());
        Assert.Equal("Utilization", metric["resource"]!["target"]!["type"]!.ToString());
        // Utilization is relative to the request: without one the HPA has nothing to divide by.
        Assert.NotNull(KubeRules.Quantity(Assert.Single(Workload(objects, "gateway").Containers)["resources"]?["requests"]?["cpu"]));

        // An autoscaled Deployment carries no replica count (each apply would reset it), and has one scaler: KEDA makes
        // the workers' HPA itself.
        foreach (var name in new[] { "worker", "gateway" })
        {
            Assert.Null(Workload(objects, name).Spec!["replicas"]);
        }
        Assert.DoesNotContain(objects, o => o.Kind == "HorizontalPodAutoscaler" && o.Spec?["scaleTargetRef"]?["name"]?.ToString() == "worker");
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Only_the_gpu_overlay_gives_workers_a_gpu_and_the_gpu_image(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);
        var worker = Workload(objects, "worker");
        var container = Assert.Single(worker.Containers);
        var environment = ContainerEnvironment(objects, container, []);
        var gpu = overlay == "overlays/gpu";

        Assert.Equal(gpu ? "cuda" : "cpu", environment["Worker__ExecutionProvider"]);
        Assert.EndsWith(gpu ? ":gpu" : ":latest", container["image"]!.ToString(), StringComparison.Ordinal);
        Assert.Equal(gpu ? 1d : null, KubeRules.Quantity(container["resources"]?["limits"]?["nvidia.com/gpu"]));
        Assert.Equal(gpu, worker.PodSpec!["tolerations"]?.AsArray().Any(t => t!["key"]?.ToString() == "nvidia.com/gpu") ?? false);
        if (gpu)
        {
            Assert.Equal("0", environment["Worker__DeviceId"]);
            // No spare GPU to surge onto.
            Assert.Equal(0, (long?)worker.Spec!["strategy"]!["rollingUpdate"]!["maxSurge"]);
        }
        // Nothing else asks for a GPU.
        Assert.DoesNotContain(objects.Where(o => o != worker).SelectMany(o => o.Containers), c => c["resources"]?["limits"]?["nvidia.com/gpu"] is not null);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Redis_and_rabbitmq_are_external_names_or_in_cluster_stateful_sets_under_the_names_the_connection_strings_use(string overlay)
    {
        var objects = await Kustomize.RenderAsync(overlay, Ct);
        var inCluster = overlay == "overlays/try-it";

        foreach (var server in new[] { "cache", "messaging" })
        {
            var service = Assert.Single(objects, o => o.Kind == "Service" && o.Name == server);
            Assert.Equal(inCluster ? null : "ExternalName", service.Spec?["type"]?.ToString());
            Assert.Equal(inCluster, objects.Any(o => o.Kind == "StatefulSet" && o.Name == server));
        }
        var environment = ContainerEnvironment(objects, Assert.Single(Workload(objects, "worker").Containers), []);
        AssertHostIsAService(objects, environment["ConnectionStrings__cache"]!.Split(',')[0].Split(':')[0]);
        AssertHostIsAService(objects, new Uri(environment["ConnectionStrings__messaging"]!).Host);
    }

    [Fact]
    public async Task Deployment_files_pass_yamllint()
    {
        var yamllint = Tool.Find("yamllint") ?? throw new InvalidOperationException("yamllint is not installed: run scripts/setup.sh");

        var run = await Tool.RunAsync(yamllint, ["-c", ".yamllint.yaml", "-f", "parsable", "--strict", "azure.yaml", "deploy", ".yamllint.yaml"], Ct);

        Assert.True(run.ExitCode == 0, run.Describe("yamllint"));
    }

    private static KubeObject Workload(List<KubeObject> objects, string name) =>
        Assert.Single(objects, o => o.Kind == "Deployment" && o.Name == name);

    private static bool Selects(JsonObject selector, JsonObject? labels) =>
        labels is not null && selector.Count > 0 && selector.All(s => labels[s.Key]?.ToString() == s.Value?.ToString());

    /// <summary>The host is a Service of the overlay, by its short name or as name.namespace.svc[.cluster.local].</summary>
    private static void AssertHostIsAService(List<KubeObject> objects, string host)
    {
        var name = host.Split('.')[0];
        var qualified = host == name || host == $"{name}.{KubeRules.Namespace}.svc" || host == $"{name}.{KubeRules.Namespace}.svc.cluster.local";
        Assert.True(qualified && objects.Any(o => o.Kind == "Service" && o.Name == name), $"{host} is not a Service of the overlay");
    }

    /// <summary>
    /// A container's variables as the kubelet would set them: envFrom first, then env; values from ConfigMaps and Secrets of
    /// the overlay, or for the Secret the operator creates (cpu, gpu), from deploy/k8s/connections.env.example, which must
    /// list every key. $(VAR) references must name a variable defined before. Broken references go to problems.
    /// </summary>
    private static Dictionary<string, string?> ContainerEnvironment(List<KubeObject> objects, JsonObject container, List<string> problems)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            if (source?["configMapRef"]?["name"]?.ToString() is { } configMap)
            {
                var map = objects.SingleOrDefault(o => o.Kind == "ConfigMap" && o.Name == configMap);
                if (map is null)
                {
                    problems.Add($"envFrom ConfigMap {configMap} is not in the overlay");
                    continue;
                }
                foreach (var entry in map.Json["data"]?.AsObject() ?? [])
                {
                    environment[entry.Key] = entry.Value?.ToString();
                }
            }
            else
            {
                problems.Add("an envFrom that is not a configMapRef");
            }
        }
        foreach (var variable in container["env"]?.AsArray() ?? [])
        {
            var name = variable!["name"]!.ToString();
            var from = variable["valueFrom"];
            string? value;
            if (from?["secretKeyRef"] is { } secret)
            {
                value = SecretValue(objects, secret["name"]!.ToString(), secret["key"]!.ToString(), (bool?)secret["optional"] ?? false, problems);
            }
            else if (from?["configMapKeyRef"] is { } key)
            {
                value = objects.SingleOrDefault(o => o.Kind == "ConfigMap" && o.Name == key["name"]!.ToString())?.Json["data"]?[key["key"]!.ToString()]?.ToString();
                if (value is null)
                {
                    problems.Add($"{name}: ConfigMap {key["name"]} has no key {key["key"]}");
                }
            }
            else if (from?["fieldRef"] is not null)
            {
                value = $"<{from["fieldRef"]!["fieldPath"]}>";
            }
            else
            {
                value = variable["value"]?.ToString() ?? "";
                foreach (var reference in System.Text.RegularExpressions.Regex.Matches(value, @"\$\(([^)]+)\)").Select(m => m.Groups[1].Value))
                {
                    if (!environment.ContainsKey(reference))
                    {
                        problems.Add($"{name} refers to $({reference}), not defined before it");
                    }
                }
            }
            environment[name] = value;
        }
        return environment;
    }

    private static string? SecretValue(List<KubeObject> objects, string secretName, string key, bool optional, List<string> problems)
    {
        var secret = objects.SingleOrDefault(o => o.Kind == "Secret" && o.Name == secretName);
        if (secret is not null)
        {
            var encoded = secret.Json["data"]?[key]?.ToString();
            if (encoded is null && !optional)
            {
                problems.Add($"Secret {secretName} has no key {key}");
            }
            return encoded is null ? null : Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        if (secretName != "aspire-inference-connections")
        {
            problems.Add($"Secret {secretName} is neither in the overlay nor the one the operator creates");
            return null;
        }
        var example = File.ReadAllLines(Path.Combine(Kustomize.K8sRoot, "connections.env.example"))
            .Where(l => !l.StartsWith('#') && l.Contains('='))
            .ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..], StringComparer.Ordinal);
        if (!example.TryGetValue(key, out var value))
        {
            problems.Add($"{key} of Secret {secretName} is not in deploy/k8s/connections.env.example");
        }
        return value;
    }
}
