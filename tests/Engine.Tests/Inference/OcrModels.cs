// The repository's real OCR models and rendered fixtures, loaded once for every test class that reads text.
using System.Text.Json;
using Contracts.Models;
using Engine.Imaging;
using Engine.Inference;
using Engine.Models;
using Engine.Tests.Models;

namespace Engine.Tests.Inference;

public sealed class OcrModels : IDisposable
{
    public OcrModels()
    {
        Catalog = ModelCatalog.Scan(RepoPaths.Models);
        Factory = new ModelRunnerFactory(Catalog, new RunnerOptions(IntraOpThreads: 1));
        Pipeline = (OcrPipelineRunner)Factory.Create(Definition("ocr"));
        Recognizer = (TextRecognitionRunner)Factory.Create(Definition("ocr-rec"));
        Classifier = (ClassificationRunner)Factory.Create(Definition("ocr-cls"));
        Detector = (TextDetectionRunner)Factory.Create(Definition("ocr-det"));
        Truth = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Path.Combine(FixtureDirectory, "truth.json")))!;
    }

    public static string FixtureDirectory { get; } = Path.Combine(RepoPaths.Root, "tests", "Engine.Tests", "Fixtures", "Ocr");

    public ModelCatalog Catalog { get; }

    public ModelRunnerFactory Factory { get; }

    public OcrPipelineRunner Pipeline { get; }

    public TextRecognitionRunner Recognizer { get; }

    public ClassificationRunner Classifier { get; }

    public TextDetectionRunner Detector { get; }

    public IReadOnlyDictionary<string, JsonElement> Truth { get; }

    public ModelDefinition Definition(string model) => Catalog.Find(model)?.Latest?.Definition
        ?? throw new InvalidOperationException($"models/{model} has no valid version; run scripts/setup.sh to fetch the weights.");

    public string TextOf(string file) => Truth[file].GetProperty("text").GetString()!;

    public string[] LinesOf(string file) => [.. Truth[file].GetProperty("lines").EnumerateArray().Select(l => l.GetString()!)];

    public static byte[] Bytes(string file) => File.ReadAllBytes(Path.Combine(FixtureDirectory, file));

    public static RgbImage Image(string file) => ImageDecoder.Decode(Bytes(file), DecodeOptions.Default);

    /// <summary>Runs one image job through a runner as the worker would, and reads its output.</summary>
    public static T RunImage<T>(IModelRunner runner, string file)
    {
        var result = runner.Run([new JobInput(file, "image", Bytes(file))])[0];
        Assert.True(result.Succeeded, $"{file}: {result.ErrorCode} {result.ErrorMessage}");
        return result.Output!.Value.Deserialize<T>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    public static OcrOutput Read(OcrModels models, string file) => RunImage<OcrOutput>(models.Pipeline, file);

    public void Dispose() => Factory.Dispose();
}

/// <summary>Edit distance for character error rates.</summary>
public static class TextDistance
{
    public static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
