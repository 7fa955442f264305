// The .NET SDK's container settings of each service project, as MSBuild evaluates them (`dotnet msbuild -getProperty`):
// what `dotnet publish -t:PublishContainer` (and azd, for each project of the manifest) builds the images with, and
// what the Kubernetes manifests must name and run as.
using System.Collections.Concurrent;
using System.Text.Json;

namespace Deploy.Tests;

public sealed class ContainerSettingsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Gateway", "aspire-inference/gateway")]
    [InlineData("Worker", "aspire-inference/worker")]
    [InlineData("ModelSync", "aspire-inference/modelsync")]
    public async Task Service_image_has_its_repository_port_8080_and_a_numeric_non_root_user(string project, string repository)
    {
        var evaluated = await EvaluateAsync(project);

        Assert.Equal(repository, evaluated.Property("ContainerRepository"));
        // The aspnet base images' APP_UID. A number, so Kubernetes can check runAsNonRoot against it.
        Assert.Equal("1654", evaluated.Property("ContainerUser"));
        var port = Assert.Single(evaluated.Items("ContainerPort"));
        Assert.Equal("8080", port.GetProperty("Identity").GetString());
        Assert.Equal("tcp", port.GetProperty("Type").GetString());
        // The CPU flavour runs on the SDK's default base (the aspnet image of the target framework).
        Assert.Equal("", evaluated.Property("ContainerBaseImage"));
    }

    [Fact]
    public async Task Gpu_flavour_of_the_worker_is_tagged_gpu_on_the_cuda_base()
    {
        var evaluated = await EvaluateAsync("Worker", "-p:OnnxRuntimeFlavor=gpu");

        Assert.Equal("aspire-inference/worker", evaluated.Property("ContainerRepository"));
        Assert.Equal("gpu", evaluated.Property("ContainerImageTag"));
        Assert.Equal("aspire-inference/worker-gpu-base:cuda13-cudnn9", evaluated.Property("ContainerBaseImage"));
        Assert.Equal("1654", evaluated.Property("ContainerUser"));
        Assert.True(File.Exists(Repository.PathOf("deploy", "docker", "worker-gpu-base.Dockerfile")));
    }

    [Fact]
    public async Task Kubernetes_manifests_run_the_images_the_projects_build_as_their_user()
    {
        var rendered = await Kustomize.RenderAsync("overlays/cpu", Ct);

        foreach (var (project, name) in new[] { ("Gateway", "gateway"), ("Worker", "worker"), ("ModelSync", "modelsync") })
        {
            var evaluated = await EvaluateAsync(project);
            var pod = rendered.Single(o => o.Kind == "Deployment" && o.Name == name).PodSpec!;
            var container = Assert.Single(pod["containers"]!.AsArray())!;
            Assert.StartsWith(evaluated.Property("ContainerRepository") + ":", (string?)container["image"], StringComparison.Ordinal);
            Assert.Equal(evaluated.Property("ContainerUser"), pod["securityContext"]!["runAsUser"]!.ToString());
            Assert.Contains(container["ports"]!.AsArray(), p => p!["containerPort"]!.ToString() == Assert.Single(evaluated.Items("ContainerPort")).GetProperty("Identity").GetString());
        }
    }

    private sealed record Evaluated(JsonElement Json)
    {
        public string? Property(string name) => Json.GetProperty("Properties").GetProperty(name).GetString();

        public IEnumerable<JsonElement> Items(string name) =>
            Json.TryGetProperty("Items", out var items) && items.TryGetProperty(name, out var list) ? list.EnumerateArray() : [];
    }

    private static readonly ConcurrentDictionary<string, Lazy<Task<Evaluated>>> Evaluations = new(StringComparer.Ordinal);

    /// <summary>The project's container settings as MSBuild evaluates them; once per project and properties in a run.</summary>
    private static Task<Evaluated> EvaluateAsync(string project, params string[] properties) =>
        Evaluations.GetOrAdd(string.Join(' ', [project, .. properties]), _ => new(() => EvaluateOnceAsync(project, properties))).Value;

    private static async Task<Evaluated> EvaluateOnceAsync(string project, string[] properties)
    {
        var run = await Tool.RunAsync("dotnet",
            ["msbuild", Repository.PathOf(project, $"{project}.csproj"), "-nologo", .. properties,
             "-getProperty:ContainerRepository", "-getProperty:ContainerUser", "-getProperty:ContainerImageTag",
             "-getProperty:ContainerBaseImage", "-getItem:ContainerPort"], Ct);
        Assert.True(run.ExitCode == 0, run.Describe("dotnet msbuild"));
        return new Evaluated(JsonDocument.Parse(run.Output).RootElement.Clone());
    }
}
