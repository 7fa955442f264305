// The deployment manifest `AppHost --publisher manifest` writes for azd: the built AppHost run as a process in publish
// mode (no resource starts), its aspire-manifest.json read back and held to Aspire 13's manifest schema.
using System.Diagnostics;
using System.Text.Json;
using Json.Schema;

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

        Assert.All(new[] { "cache", "messaging", "postgres", "accounts", "models", "modelsync-admin-key", "accounts-admin-key", "modelsync", "worker", "gateway" },
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

        // The run's random admin keys must not become the deployment's defaults: the deployment asks for secrets.
        foreach (var parameter in new[] { "modelsync-admin-key", "accounts-admin-key" })
        {
            var adminKeyInput = resources.GetProperty(parameter).GetProperty("inputs").GetProperty("value");
            Assert.Equal("parameter.v0", Type(resources.GetProperty(parameter)));
            Assert.True(adminKeyInput.GetProperty("secret").GetBoolean());
            Assert.False(adminKeyInput.TryGetProperty("default", out _), $"{parameter} carries a default value");
        }

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
        Assert.Equal("{accounts-admin-key.value}", Env(gateway, "Accounts__AdminKey"));

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
    [InlineData("""{ "type": "executable.v0", "command": "redis-server" }""", "/resources/r: required: Required properties [\"workingDirectory\"]")]
    [InlineData("""{ "type": "container.v0", "image": "redis", "bindings": { "tcp": { "scheme": "tcp", "protocol": "http", "transport": "tcp" } } }""", "/resources/r/bindings/tcp/protocol: enum")]
    [InlineData("""{ "type": "project.v0", "path": "Worker.csproj", "replicas": 3 }""", "/resources/r/replicas")]
    [InlineData("""{ "type": "parameter.v0", "value": "{p.inputs.value}", "inputs": { "value": { "type": "number" } } }""", "/resources/r/inputs/value/type")]
    [InlineData("""{ "type": "container.v0", "image": "redis", "volumes": [ { "name": "data", "target": "/data" } ] }""", "/resources/r/volumes/0: required: Required properties [\"readOnly\"]")]
    [InlineData("""{ "type": "container.v1", "image": "redis", "build": { "context": ".", "dockerfile": "Dockerfile" } }""", "/resources/r/image")]
    [InlineData("""{ "type": "container.v0", "image": "redis", "build": { "context": ".", "dockerfile": "Dockerfile" } }""", "/resources/r/build")]
    [InlineData("""{ "type": "dockerfile.v0", "path": "Dockerfile", "context": "." }""", "/resources/r/type")]
    public void Schema_facts_reject_what_the_schema_rejects(string resource, string named)
    {
        using var manifest = JsonDocument.Parse($$"""{ "resources": { "r": {{resource}} } }""");

        var violations = ManifestSchema.Violations(manifest.RootElement);

        Assert.True(violations.Any(v => v.Contains(named, StringComparison.Ordinal)), string.Join("\n", violations));
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
/// Aspire's manifest schema (dotnet/aspire, src/Schema/aspire-13.0.json, JSON Schema draft-07) for the resource types an
/// AppHost like ours writes, restated in Schemas/aspire-manifest-rules.json (its $comment says what it holds and leaves
/// out) and evaluated by JsonSchema.Net. No package ships the schema and tests cannot download it.
/// </summary>
internal static class ManifestSchema
{
    private static readonly Lazy<JsonSchema> Rules = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "aspire-manifest-rules.json"))));

    /// <summary>Every way <paramref name="manifest"/> breaks the schema, as "instance location: error"; none for a valid manifest.</summary>
    public static List<string> Violations(JsonElement manifest) => TestSupport.SchemaViolations.Of(Rules.Value, manifest);
}
