// azure.yaml, the file `azd init`/`azd up` read: held to azd's schema rules (Schemas/azd-azure-yaml-rules.json, evaluated
// by JsonSchema.Net) and to what it must say for this solution: the AppHost, deployed to Azure Container Apps.
using System.Text.Json;
using Json.Schema;
using TestSupport;

namespace Deploy.Tests;

public sealed class AzureYamlTests
{
    private static readonly Lazy<JsonSchema> AzdRules = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Schemas", "azd-azure-yaml-rules.json"))));

    private static string AzureYaml => File.ReadAllText(Repository.PathOf("azure.yaml"));

    [Fact]
    public void Azure_yaml_passes_the_rules_of_azds_schema()
    {
        Assert.Empty(Violations(AzureYaml));
    }

    [Fact]
    public void Azure_yaml_deploys_the_apphost_to_container_apps()
    {
        var services = Yaml.Parse(AzureYaml)!["services"]!.AsObject();

        var (name, service) = Assert.Single(services);
        Assert.Equal("containerapp", (string?)service!["host"]);
        Assert.Equal("dotnet", (string?)service["language"]);
        var project = Path.GetFullPath(Path.Combine(Repository.Root, (string)service["project"]!));
        Assert.Equal(Repository.PathOf("AppHost", "AppHost.csproj"), project);
        Assert.Contains("Sdk=\"Aspire.AppHost.Sdk/", File.ReadAllText(project), StringComparison.Ordinal);
        // Editors (the YAML language server) validate as they type against the schema named on the first line.
        Assert.StartsWith("# yaml-language-server: $schema=https://raw.githubusercontent.com/Azure/azure-dev/main/schemas/v1.0/azure.yaml.json",
            AzureYaml, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(name));
    }

    [Theory]
    [InlineData("services: { app: { host: containerapp, project: ./AppHost/AppHost.csproj } }", ": required: Required properties [\"name\"]")]
    [InlineData("name: Aspire_Inference\nservices: { app: { host: containerapp, project: ./a.csproj } }", "/name: pattern")]
    [InlineData("name: a\nservices: { app: { host: containerapp, project: ./a.csproj } }", "/name: minLength")]
    [InlineData("name: app\nservices: {}", "/services: minProperties")]
    [InlineData("name: app\nservices: { app: { project: ./a.csproj, language: dotnet } }", "/services/app: required: Required properties [\"host\"]")]
    // containerapp: exactly one of project and image (the anyOf of the containerapp rule fails as a whole).
    [InlineData("name: app\nservices: { app: { host: containerapp, project: ./a.csproj, image: nginx } }", "allOf/0/then/anyOf")]
    [InlineData("name: app\nservices: { app: { host: containerapp, language: dotnet } }", "/services/app: required: Required properties [\"project\"]")]
    [InlineData("name: app\nservices: { app: { host: containerapp, project: ./a.csproj, remoteBuild: true } }", "/services/app/remoteBuild")]
    [InlineData("name: app\nservices: { app: { host: appservice, image: nginx } }", "/services/app/image")]
    [InlineData("name: app\nservices: { app: { host: containerapp, project: ./a.csproj, env: { PORT: 8080 } } }", "/services/app/env/PORT: type")]
    public void Schema_rules_reject_what_azds_schema_rejects(string yaml, string named)
    {
        var violations = Violations(yaml);

        Assert.Contains(violations, v => v.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_rules_accept_a_minimal_container_app()
    {
        Assert.Empty(Violations("name: app\nservices: { app: { host: containerapp, image: nginx } }"));
    }

    /// <summary>Every place <paramref name="yaml"/> breaks the rules, as "instance location: error"; none when it keeps them.</summary>
    private static List<string> Violations(string yaml) =>
        SchemaViolations.Of(AzdRules.Value, JsonSerializer.SerializeToElement(Yaml.Parse(yaml)));
}
