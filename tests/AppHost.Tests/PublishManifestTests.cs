// The deployment manifest `AppHost --publisher manifest` writes for azd: the built AppHost run as a process in publish
// mode (no resource starts), its aspire-manifest.json read back and held to Aspire 13's manifest schema.
using System.Diagnostics;
using System.Text.Json;

namespace AppHost.Tests;

public sealed class PublishManifestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string AppHostDll =
        Path.Combine(Projects.RepositoryInfo.Root, "AppHost", "bin", Projects.RepositoryInfo.Configuration, "net10.0", "AppHost.dll");

    [Fact]
    public async Task Publish_manifest_describes_servers_as_containers_and_services_as_projects()
    {
        using var published = await PublishAsync();
        var resources = published.Resources;

        Assert.All(new[] { "cache", "messaging", "postgres", "accounts", "models", "modelsync-admin-key", "modelsync", "worker", "gateway" },
            name => Assert.True(resources.TryGetProperty(name, out _), $"no resource '{name}' in the manifest"));
        foreach (var resource in resources.EnumerateObject())
        {
            // Executables are what azd cannot deploy; the model-* rows and epmd exist for the dashboard in run mode only.
            Assert.NotEqual("executable.v0", Type(resource.Value));
            Assert.False(resource.Name.StartsWith("model-", StringComparison.Ordinal), $"run-mode resource '{resource.Name}' was published");
            Assert.False(resource.Name.EndsWith("-epmd", StringComparison.Ordinal), $"run-mode resource '{resource.Name}' was published");
        }

        AssertServer(resources.GetProperty("cache"), image: "redis", port: 6379, volumeTarget: "/data");
        AssertServer(resources.GetProperty("messaging"), image: "rabbitmq", port: 5672, volumeTarget: "/var/lib/rabbitmq");
        Assert.Contains(Type(resources.GetProperty("postgres")), new[] { "container.v0", "container.v1" });
        Assert.Contains("postgres", resources.GetProperty("postgres").GetProperty("image").GetString(), StringComparison.Ordinal);
        Assert.Contains("{postgres.connectionString}", resources.GetProperty("accounts").GetProperty("connectionString").GetString(), StringComparison.Ordinal);

        var models = resources.GetProperty("models");
        Assert.Equal("parameter.v0", Type(models));
        Assert.Equal("{models.value}", models.GetProperty("connectionString").GetString());

        // The run's random admin key must not become the deployment's default: the deployment asks for a secret.
        var adminKeyInput = resources.GetProperty("modelsync-admin-key").GetProperty("inputs").GetProperty("value");
        Assert.Equal("parameter.v0", Type(resources.GetProperty("modelsync-admin-key")));
        Assert.True(adminKeyInput.GetProperty("secret").GetBoolean());
        Assert.False(adminKeyInput.TryGetProperty("default", out _), "modelsync-admin-key carries a default value");

        var modelsync = AssertProject(published, "modelsync", "ModelSync/ModelSync.csproj", external: false);
        Assert.Equal("{cache.connectionString}", Env(modelsync, "ConnectionStrings__cache"));
        Assert.Equal("{messaging.connectionString}", Env(modelsync, "ConnectionStrings__messaging"));
        Assert.Equal("{models.connectionString}", Env(modelsync, "ConnectionStrings__models"));
        Assert.Equal("{modelsync-admin-key.value}", Env(modelsync, "ModelSync__AdminKey"));

        var worker = AssertProject(published, "worker", "Worker/Worker.csproj", external: false);
        Assert.Equal("{cache.connectionString}", Env(worker, "ConnectionStrings__cache"));
        Assert.Equal("{messaging.connectionString}", Env(worker, "ConnectionStrings__messaging"));
        Assert.Equal("{models.connectionString}", Env(worker, "ConnectionStrings__models"));
        // The shared model cache folder is a path on this machine: run mode only.
        Assert.Null(Env(worker, "Worker__CacheDirectory"));

        var gateway = AssertProject(published, "gateway", "Gateway/Gateway.csproj", external: true);
        Assert.Equal("{cache.connectionString}", Env(gateway, "ConnectionStrings__cache"));
        Assert.Equal("{messaging.connectionString}", Env(gateway, "ConnectionStrings__messaging"));
        Assert.Null(Env(gateway, "ConnectionStrings__models")); // the gateway learns the models from Redis, never from the bucket
        Assert.Equal("{accounts.connectionString}", Env(gateway, "ConnectionStrings__accounts"));
        Assert.Null(Env(gateway, "Accounts__DevelopmentKey")); // a deployment has no development account

        // Nothing of this machine leaks into what is deployed: no local path, no run marker.
        foreach (var resource in resources.EnumerateObject())
        {
            if (!resource.Value.TryGetProperty("env", out var env))
            {
                continue;
            }
            foreach (var variable in env.EnumerateObject())
            {
                Assert.NotEqual(RunSummaryExtensions.RunMarkerVariable, variable.Name);
                Assert.DoesNotContain(Projects.RepositoryInfo.Root.TrimEnd('/'), variable.Value.GetString() ?? "", StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Publish_manifest_conforms_to_the_aspire_13_manifest_schema()
    {
        using var published = await PublishAsync();

        Assert.Empty(ManifestSchema.Violations(published.Document.RootElement));
    }

    [Fact]
    public async Task Worker_count_is_not_in_the_publish_manifest_which_has_no_replicas_field()
    {
        // WithReplicas(n) is a run-mode fact in Aspire 13.6: the manifest publisher writes no replica count, and the schema's
        // project.v0/v1 allow none (additionalProperties: false). A deployment sets the worker's scale itself. Should a later
        // Aspire write one, this fails: assert then that --AppHost:Workers=3 gives 3.
        using var two = await PublishAsync();
        using var three = await PublishAsync("--AppHost:Workers=3");

        var worker = three.Resources.GetProperty("worker");
        Assert.False(worker.TryGetProperty("replicas", out _), "the worker has a replicas field now: assert it is 3");
        Assert.DoesNotContain(worker.EnumerateObject(), p => p.Value.ValueKind == JsonValueKind.Number);
        Assert.Equal(two.Resources.GetProperty("worker").GetRawText(), worker.GetRawText());
    }

    [Theory]
    [InlineData("""{ "type": "executable.v0", "command": "redis-server" }""", "workingDirectory")]
    [InlineData("""{ "type": "container.v0", "image": "redis", "bindings": { "tcp": { "scheme": "tcp", "protocol": "http", "transport": "tcp" } } }""", "protocol")]
    [InlineData("""{ "type": "project.v0", "path": "Worker.csproj", "replicas": 3 }""", "replicas")]
    [InlineData("""{ "type": "parameter.v0", "value": "{p.inputs.value}", "inputs": { "value": { "type": "number" } } }""", "string")]
    [InlineData("""{ "type": "container.v0", "image": "redis", "volumes": [ { "name": "data", "target": "/data" } ] }""", "readOnly")]
    [InlineData("""{ "type": "container.v1", "image": "redis", "build": { "context": ".", "dockerfile": "Dockerfile" } }""", "build")]
    public void Schema_facts_reject_what_the_schema_rejects(string resource, string named)
    {
        using var manifest = JsonDocument.Parse($$"""{ "resources": { "r": {{resource}} } }""");

        Assert.Contains(ManifestSchema.Violations(manifest.RootElement), v => v.Contains(named, StringComparison.Ordinal));
    }

    private static void AssertServer(JsonElement server, string image, int port, string volumeTarget)
    {
        Assert.Contains(Type(server), new[] { "container.v0", "container.v1" });
        Assert.Contains(image, server.GetProperty("image").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(server.GetProperty("connectionString").GetString()));
        Assert.Equal(port, server.GetProperty("bindings").GetProperty("tcp").GetProperty("targetPort").GetInt32());
        // Data survives a restart of the container: the volume of WithDataVolume.
        Assert.Contains(server.GetProperty("volumes").EnumerateArray(), v => v.GetProperty("target").GetString() == volumeTarget);
    }

    private static JsonElement AssertProject(PublishedManifest published, string name, string projectPath, bool external)
    {
        var project = published.Resources.GetProperty(name);
        Assert.Contains(Type(project), new[] { "project.v0", "project.v1" });
        // The schema: a relative path is relative to the manifest file.
        var path = project.GetProperty("path").GetString()!;
        Assert.EndsWith(projectPath, path, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(published.Directory, path)), $"{name}: {path} is not a project file relative to the manifest");
        var http = project.GetProperty("bindings").GetProperty("http");
        Assert.Equal("http", http.GetProperty("scheme").GetString());
        Assert.Equal(external, http.TryGetProperty("external", out var isExternal) && isExternal.GetBoolean());
        return project;
    }

    private static string? Type(JsonElement resource) => resource.GetProperty("type").GetString();

    private static string? Env(JsonElement resource, string name) =>
        resource.GetProperty("env").TryGetProperty(name, out var value) ? value.GetString() : null;

    /// <summary>Runs the built AppHost with the manifest publisher into a fresh folder and reads what it wrote.</summary>
    private static async Task<PublishedManifest> PublishAsync(params string[] arguments)
    {
        Assert.True(File.Exists(AppHostDll), $"{AppHostDll} is not built (dotnet build AppHost -c {Projects.RepositoryInfo.Configuration})");
        var directory = Directory.CreateTempSubdirectory("publish-manifest-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[AppHostDll, "--publisher", "manifest", "--output-path", directory, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        // Settings of the test run (a fixture's AppHost__*) are not this graph's.
        foreach (var variable in start.Environment.Keys.Where(k => k.StartsWith("AppHost__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(variable);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var log = $"{await output}{await error}";
        Assert.True(process.ExitCode == 0, $"the publisher exited with {process.ExitCode}:\n{log}");

        var manifest = Path.Combine(directory, "aspire-manifest.json");
        Assert.True(File.Exists(manifest), $"no {manifest}:\n{log}");
        return new PublishedManifest(directory, JsonDocument.Parse(await File.ReadAllTextAsync(manifest, Ct)));
    }

    private sealed record PublishedManifest(string Directory, JsonDocument Document) : IDisposable
    {
        public JsonElement Resources => Document.RootElement.GetProperty("resources");

        public void Dispose()
        {
            Document.Dispose();
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}

/// <summary>
/// The facts of Aspire's manifest schema (dotnet/aspire, src/Schema/aspire-13.0.json, JSON Schema draft-07) for the resource
/// types an AppHost like ours writes. No package ships the schema and tests cannot download it, so its rules are restated
/// here: per type the required and the only allowed properties (each branch has additionalProperties: false), and the
/// shared definitions (bindings, env, args, volumes, parameter inputs). Stricter than the schema in one way: a type
/// outside this table (the schema's "extensions" branch accepts any) is reported, since azd would not deploy it.
/// </summary>
internal static class ManifestSchema
{
    private sealed record TypeRule(string[] Required, string[] Allowed);

    private static readonly Dictionary<string, TypeRule> Types = new(StringComparer.Ordinal)
    {
        ["container.v0"] = new(["type", "image"],
            ["type", "image", "entrypoint", "args", "connectionString", "containerFiles", "env", "bindings", "bindMounts", "volumes"]),
        // container.v1: oneOf [required build, required image] — one of the two, not both.
        ["container.v1"] = new(["type"],
            ["type", "image", "entrypoint", "deployment", "args", "build", "connectionString", "containerFiles", "env", "bindings", "bindMounts", "volumes"]),
        ["project.v0"] = new(["type", "path"], ["type", "path", "containerFiles", "args", "env", "bindings"]),
        ["project.v1"] = new(["type", "path"], ["type", "path", "deployment", "containerFiles", "args", "env", "bindings"]),
        ["executable.v0"] = new(["type", "command", "workingDirectory"],
            ["type", "workingDirectory", "command", "containerFiles", "args", "env", "bindings"]),
        ["value.v0"] = new(["connectionString"], ["type", "connectionString"]),
        ["parameter.v0"] = new(["value", "inputs"], ["type", "value", "connectionString", "inputs"]),
        ["annotated.string"] = new(["type", "value", "filter"], ["type", "value", "filter"]),
    };

    private static readonly string[] StringProperties = ["image", "entrypoint", "path", "command", "workingDirectory", "connectionString", "value"];
    private static readonly string[] BindingProperties = ["scheme", "protocol", "transport", "external", "targetPort", "port"];
    private static readonly string[] Protocols = ["tcp", "udp"];
    private static readonly string[] Transports = ["http", "http2", "tcp"];
    private static readonly string[] AnnotatedStringFilters = ["uri"];
    private static readonly string[] InputProperties = ["type", "secret", "default"];

    /// <summary>Every way <paramref name="manifest"/> breaks the schema, one line each; none for a valid manifest.</summary>
    public static List<string> Violations(JsonElement manifest)
    {
        var violations = new List<string>();
        if (!manifest.TryGetProperty("resources", out var resources) || resources.ValueKind != JsonValueKind.Object)
        {
            violations.Add("the manifest has no resources object");
            return violations;
        }
        foreach (var resource in resources.EnumerateObject())
        {
            Resource(resource.Name, resource.Value, violations);
        }
        return violations;
    }

    private static void Resource(string name, JsonElement resource, List<string> violations)
    {
        if (resource.ValueKind != JsonValueKind.Object || !resource.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
        {
            violations.Add($"{name}: not an object with a string type");
            return;
        }
        var type = typeElement.GetString()!;
        if (!Types.TryGetValue(type, out var rule))
        {
            violations.Add($"{name}: type {type} is not one this manifest may hold");
            return;
        }
        violations.AddRange(rule.Required.Where(p => !resource.TryGetProperty(p, out _)).Select(p => $"{name} ({type}): required property {p} is missing"));
        violations.AddRange(resource.EnumerateObject().Where(p => !rule.Allowed.Contains(p.Name)).Select(p => $"{name} ({type}): property {p.Name} is not allowed"));
        if (type == "container.v1" && resource.TryGetProperty("build", out _) == resource.TryGetProperty("image", out _))
        {
            violations.Add($"{name} (container.v1): needs exactly one of build and image");
        }

        foreach (var property in resource.EnumerateObject())
        {
            var where = $"{name}.{property.Name}";
            var value = property.Value;
            switch (property.Name)
            {
                case var p when StringProperties.Contains(p):
                    Expect(value.ValueKind == JsonValueKind.String, $"{where} is not a string", violations);
                    break;
                case "filter":
                    Expect(value.ValueKind == JsonValueKind.String && AnnotatedStringFilters.Contains(value.GetString()), $"{where}: filter {value} is not one of uri", violations);
                    break;
                case "args":
                    Expect(value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(a => a.ValueKind == JsonValueKind.String), $"{where} is not an array of strings", violations);
                    break;
                case "env":
                    Expect(value.ValueKind == JsonValueKind.Object && value.EnumerateObject().All(e => e.Value.ValueKind == JsonValueKind.String), $"{where} is not an object of strings", violations);
                    break;
                case "bindings":
                    Bindings(where, value, violations);
                    break;
                case "volumes":
                    Mounts(where, value, "name", violations);
                    break;
                case "bindMounts":
                    Mounts(where, value, "source", violations);
                    break;
                case "inputs":
                    Inputs(where, value, violations);
                    break;
            }
        }
    }

    private static void Bindings(string where, JsonElement bindings, List<string> violations)
    {
        if (bindings.ValueKind != JsonValueKind.Object)
        {
            violations.Add($"{where} is not an object");
            return;
        }
        foreach (var binding in bindings.EnumerateObject())
        {
            var b = binding.Value;
            var at = $"{where}.{binding.Name}";
            if (b.ValueKind != JsonValueKind.Object)
            {
                violations.Add($"{at} is not an object");
                continue;
            }
            violations.AddRange(b.EnumerateObject().Where(p => !BindingProperties.Contains(p.Name)).Select(p => $"{at}: property {p.Name} is not allowed"));
            Expect(b.TryGetProperty("scheme", out var scheme) && scheme.ValueKind == JsonValueKind.String, $"{at}: scheme is missing or not a string", violations);
            Expect(b.TryGetProperty("protocol", out var protocol) && protocol.ValueKind == JsonValueKind.String && Protocols.Contains(protocol.GetString()), $"{at}: protocol is missing or not tcp/udp", violations);
            Expect(b.TryGetProperty("transport", out var transport) && transport.ValueKind == JsonValueKind.String && Transports.Contains(transport.GetString()), $"{at}: transport is missing or not http/http2/tcp", violations);
            Expect(!b.TryGetProperty("external", out var external) || external.ValueKind is JsonValueKind.True or JsonValueKind.False, $"{at}: external is not a boolean", violations);
            Expect(!b.TryGetProperty("port", out var port) || port.ValueKind == JsonValueKind.Number, $"{at}: port is not a number", violations);
            Expect(!b.TryGetProperty("targetPort", out var targetPort) || targetPort.ValueKind == JsonValueKind.Number, $"{at}: targetPort is not a number", violations);
        }
    }

    /// <summary>volumes (name, target, readOnly) and bindMounts (source, target, readOnly): all three required, nothing else.</summary>
    private static void Mounts(string where, JsonElement mounts, string first, List<string> violations)
    {
        if (mounts.ValueKind != JsonValueKind.Array)
        {
            violations.Add($"{where} is not an array");
            return;
        }
        string[] allowed = [first, "target", "readOnly"];
        foreach (var mount in mounts.EnumerateArray())
        {
            if (mount.ValueKind != JsonValueKind.Object)
            {
                violations.Add($"{where}: an item is not an object");
                continue;
            }
            violations.AddRange(mount.EnumerateObject().Where(p => !allowed.Contains(p.Name)).Select(p => $"{where}: property {p.Name} is not allowed"));
            Expect(mount.TryGetProperty(first, out var source) && source.ValueKind == JsonValueKind.String, $"{where}: {first} is missing or not a string", violations);
            Expect(mount.TryGetProperty("target", out var target) && target.ValueKind == JsonValueKind.String, $"{where}: target is missing or not a string", violations);
            Expect(mount.TryGetProperty("readOnly", out var readOnly) && readOnly.ValueKind is JsonValueKind.True or JsonValueKind.False, $"{where}: readOnly is missing or not a boolean", violations);
        }
    }

    /// <summary>parameter.v0 inputs: each of type "string", secret a boolean, default either generate (minLength) or value.</summary>
    private static void Inputs(string where, JsonElement inputs, List<string> violations)
    {
        if (inputs.ValueKind != JsonValueKind.Object)
        {
            violations.Add($"{where} is not an object");
            return;
        }
        foreach (var input in inputs.EnumerateObject())
        {
            var i = input.Value;
            var at = $"{where}.{input.Name}";
            if (i.ValueKind != JsonValueKind.Object)
            {
                violations.Add($"{at} is not an object");
                continue;
            }
            violations.AddRange(i.EnumerateObject().Where(p => !InputProperties.Contains(p.Name)).Select(p => $"{at}: property {p.Name} is not allowed"));
            Expect(i.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "string", $"{at}: type is missing or not \"string\"", violations);
            Expect(!i.TryGetProperty("secret", out var secret) || secret.ValueKind is JsonValueKind.True or JsonValueKind.False, $"{at}: secret is not a boolean", violations);
            if (i.TryGetProperty("default", out var defaultValue))
            {
                var generates = defaultValue.ValueKind == JsonValueKind.Object && defaultValue.TryGetProperty("generate", out var generate)
                    && generate.ValueKind == JsonValueKind.Object && generate.TryGetProperty("minLength", out var minLength) && minLength.ValueKind == JsonValueKind.Number;
                var given = defaultValue.ValueKind == JsonValueKind.Object && defaultValue.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String;
                Expect(generates != given, $"{at}: default is neither generate (with minLength) nor value", violations);
            }
        }
    }

    private static void Expect(bool holds, string violation, List<string> violations)
    {
        if (!holds)
        {
            violations.Add(violation);
        }
    }
}
