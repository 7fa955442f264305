// Finds libonnxruntime, loads it once per process and binds the C API table.
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;

namespace Engine.Onnx;

public static class OnnxRuntimeLibrary
{
    /// <summary>Configuration key holding an explicit path to libonnxruntime.</summary>
    public const string ConfigurationKey = "Engine:OnnxRuntimePath";

    /// <summary>Environment variable holding a path to libonnxruntime, used when configuration has none.</summary>
    public const string EnvironmentVariable = "ORT_LIBRARY_PATH";

    /// <summary>Where scripts/setup.sh puts the library, relative to the repository root.</summary>
    public static readonly string RelativeDefaultPath = Path.Combine(".deps", "onnxruntime", "libonnxruntime.so.1");

    private static readonly Lock Gate = new();
    private static nint s_library;
    private static string? s_path;
    private static string? s_version;
    private static IReadOnlyList<string>? s_providers;

    /// <summary>The path the library was loaded from, or null before the first load.</summary>
    public static string? LoadedPath => s_path;

    /// <summary>The loaded library's version, e.g. "1.30.0".</summary>
    public static string Version
    {
        get
        {
            EnsureLoaded();
            return s_version!;
        }
    }

    /// <summary>Execution providers compiled into the loaded library, e.g. "CPUExecutionProvider".</summary>
    public static IReadOnlyList<string> AvailableProviders
    {
        get
        {
            EnsureLoaded();
            return s_providers!;
        }
    }

    /// <summary>Loads the library named by <see cref="ConfigurationKey"/>, else searches the default places.</summary>
    public static void EnsureLoaded(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        EnsureLoaded(configuration[ConfigurationKey]);
    }

    /// <summary>
    /// Loads libonnxruntime once per process: from <paramref name="explicitPath"/> when given, else from
    /// <c>ORT_LIBRARY_PATH</c>, else from <c>.deps/onnxruntime/libonnxruntime.so.1</c> found by walking up
    /// from the application's base directory and the current directory. Later calls reuse the loaded library.
    /// </summary>
    /// <exception cref="OnnxRuntimeNotFoundException">No library at the explicit path or in any searched place.</exception>
    public static void EnsureLoaded(string? explicitPath = null)
    {
        if (s_library != 0 && string.IsNullOrEmpty(explicitPath))
        {
            return;
        }

        var path = Locate(explicitPath, Environment.GetEnvironmentVariable(EnvironmentVariable),
            [AppContext.BaseDirectory, Directory.GetCurrentDirectory()]);

        lock (Gate)
        {
            if (s_library != 0)
            {
                return;
            }

            var library = NativeLibrary.Load(path);
            try
            {
                s_version = OrtApi.Bind(NativeLibrary.GetExport(library, "OrtGetApiBase"), path);
                s_providers = OrtApi.ReadAvailableProviders();
            }
            catch
            {
                NativeLibrary.Free(library);
                throw;
            }

            s_path = path;
            Volatile.Write(ref s_library, library);
        }
    }

    /// <summary>Resolves the library path without loading it.</summary>
    internal static string Locate(string? explicitPath, string? environmentPath, IEnumerable<string> startDirectories)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return File.Exists(explicitPath)
                ? Path.GetFullPath(explicitPath)
                : throw NotFound([explicitPath], $"configured path ({ConfigurationKey})");
        }

        if (!string.IsNullOrWhiteSpace(environmentPath))
        {
            return File.Exists(environmentPath)
                ? Path.GetFullPath(environmentPath)
                : throw NotFound([environmentPath], $"path from {EnvironmentVariable}");
        }

        var searched = new List<string>();
        foreach (var start in startDirectories)
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, RelativeDefaultPath);
                if (searched.Contains(candidate))
                {
                    break;
                }

                searched.Add(candidate);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw NotFound(searched, $"{RelativeDefaultPath} above the application and current directories");
    }

    private static OnnxRuntimeNotFoundException NotFound(IReadOnlyList<string> searched, string what) =>
        new($"ONNX Runtime library not found: looked for the {what}: {string.Join(", ", searched)}. " +
            $"Set {ConfigurationKey} or {EnvironmentVariable} to libonnxruntime.so.1, or run scripts/setup.sh.",
            searched);
}
