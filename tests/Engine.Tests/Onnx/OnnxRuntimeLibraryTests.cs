using Engine.Onnx;
using Microsoft.Extensions.Configuration;

namespace Engine.Tests.Onnx;

public sealed class OnnxRuntimeLibraryTests
{
    [Fact]
    public void Library_from_setup_loads_as_version_1_30_with_the_cpu_provider()
    {
        OnnxRuntimeLibrary.EnsureLoaded();

        Assert.Equal("1.30.0", OnnxRuntimeLibrary.Version);
        Assert.Contains("CPUExecutionProvider", OnnxRuntimeLibrary.AvailableProviders);
        Assert.EndsWith("libonnxruntime.so.1", OnnxRuntimeLibrary.LoadedPath);
    }

    [Fact]
    public void Configured_path_that_does_not_exist_is_reported_with_the_setup_hint()
    {
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "libonnxruntime.so.1");
        var configuration = new DictionaryConfiguration(new() { [OnnxRuntimeLibrary.ConfigurationKey] = missing });

        var error = Assert.Throws<OnnxRuntimeNotFoundException>(() => OnnxRuntimeLibrary.EnsureLoaded(configuration));

        Assert.Contains(missing, error.Message);
        Assert.Contains("run scripts/setup.sh", error.Message);
        Assert.Equal([missing], error.SearchedPaths);
    }

    [Fact]
    public void Search_without_configuration_walks_up_every_start_directory_and_lists_what_it_tried()
    {
        var root = Directory.CreateTempSubdirectory("ort-search-");
        try
        {
            var deep = Directory.CreateDirectory(Path.Combine(root.FullName, "a", "b"));

            var error = Assert.Throws<OnnxRuntimeNotFoundException>(
                () => OnnxRuntimeLibrary.Locate(null, null, [deep.FullName]));

            Assert.Contains(Path.Combine(deep.FullName, OnnxRuntimeLibrary.RelativeDefaultPath), error.SearchedPaths);
            Assert.Contains(Path.Combine(root.FullName, OnnxRuntimeLibrary.RelativeDefaultPath), error.SearchedPaths);
            Assert.Contains("run scripts/setup.sh", error.Message);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void Search_finds_the_library_in_a_parent_directory_and_prefers_the_environment_variable()
    {
        var root = Directory.CreateTempSubdirectory("ort-search-");
        try
        {
            var library = Path.Combine(root.FullName, OnnxRuntimeLibrary.RelativeDefaultPath);
            Directory.CreateDirectory(Path.GetDirectoryName(library)!);
            File.WriteAllBytes(library, []);
            var other = Path.Combine(root.FullName, "elsewhere.so");
            File.WriteAllBytes(other, []);
            var deep = Directory.CreateDirectory(Path.Combine(root.FullName, "bin", "Debug"));

            Assert.Equal(library, OnnxRuntimeLibrary.Locate(null, null, [deep.FullName]));
            Assert.Equal(other, OnnxRuntimeLibrary.Locate(null, other, [deep.FullName]));
            Assert.Throws<OnnxRuntimeNotFoundException>(() => OnnxRuntimeLibrary.Locate(null, other + ".missing", [deep.FullName]));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    /// <summary>Just enough IConfiguration for key lookups (the tests project has only the abstractions).</summary>
    private sealed class DictionaryConfiguration(Dictionary<string, string?> values) : IConfiguration
    {
        public string? this[string key]
        {
            get => values.GetValueOrDefault(key);
            set => values[key] = value;
        }

        public IEnumerable<IConfigurationSection> GetChildren() => [];

        public Microsoft.Extensions.Primitives.IChangeToken GetReloadToken() => throw new NotSupportedException();

        public IConfigurationSection GetSection(string key) => throw new NotSupportedException();
    }
}
