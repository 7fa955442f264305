using System.Text.Json;

namespace Integration.Tests;

/// <summary>The rendered OCR images and their ground truth (tests/Engine.Tests/Fixtures/Ocr).</summary>
public static class Fixtures
{
    public static string OcrDirectory { get; } = Path.Combine(Projects.RepositoryInfo.Root, "tests", "Engine.Tests", "Fixtures", "Ocr");

    private static readonly Lazy<JsonElement> Truth = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(OcrDirectory, "truth.json"))).RootElement.Clone());

    public static byte[] Bytes(string file) => File.ReadAllBytes(Path.Combine(OcrDirectory, file));

    public static string LineText(string file) => Truth.Value.GetProperty(file).GetProperty("text").GetString()!;

    public static IReadOnlyList<string> PageLines(string file) =>
        Truth.Value.GetProperty(file).GetProperty("lines").EnumerateArray().Select(l => l.GetString()!).ToList();

    /// <summary>A PNG header followed by garbage: passes the gateway's sniffing, fails decoding in the worker.</summary>
    public static byte[] CorruptPng() =>
        [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. Enumerable.Range(0, 200).Select(i => (byte)(i * 37))];
}
