// Reads model.json from a version directory, checks it against the schema and the files beside it, and resolves
// labels and dictionaries. Every problem is collected so a model author fixes them in one pass.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Contracts.Models;

namespace Engine.Models;

public static partial class ModelManifestLoader
{
    public const string ManifestFileName = "model.json";
    public const string ModelFileName = "model.onnx";

    private static readonly string[] TaskNames = ["image-classification", "text-detection", "text-recognition", "ocr", "tensor"];

    /// <summary>Loads and validates <c>{versionDirectory}/model.json</c>.</summary>
    /// <exception cref="InvalidManifestException">The manifest is missing, unreadable or invalid; lists every problem.</exception>
    public static ModelDefinition Load(string versionDirectory)
    {
        var directory = Path.GetFullPath(versionDirectory);
        var manifestPath = Path.Combine(directory, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            throw new InvalidManifestException(manifestPath, [$"{ManifestFileName} not found in {directory}"]);
        }

        var problems = new List<string>();
        var manifest = Parse(File.ReadAllText(manifestPath), problems, out var taskKnown);
        if (manifest is null)
        {
            throw new InvalidManifestException(manifestPath, problems);
        }

        var definition = Validate(manifest, directory, taskKnown, problems);
        return problems.Count == 0 && definition is not null
            ? definition
            : throw new InvalidManifestException(manifestPath, problems);
    }

    /// <summary>Deserializes a manifest, reporting malformed JSON, unknown properties and an unknown task.</summary>
    internal static ModelManifest? Parse(string json, List<string> problems, out bool taskKnown)
    {
        taskKnown = false;
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            problems.Add($"not valid JSON: {e.Message}");
            return null;
        }

        if (root is not JsonObject rootObject)
        {
            problems.Add("the manifest must be a JSON object");
            return null;
        }

        var taskNode = rootObject["task"];
        var taskText = taskNode is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;
        if (taskText is null || !TaskNames.Contains(taskText, StringComparer.Ordinal))
        {
            problems.Add(taskNode is null
                ? $"task is required (expected one of {Quote(TaskNames)})"
                : $"task '{taskNode.ToJsonString().Trim('"')}' is unknown (expected one of {Quote(TaskNames)})");
            // Keep going with a placeholder so the rest of the manifest is still checked.
            rootObject["task"] = "tensor";
        }
        else
        {
            taskKnown = true;
        }

        ReportUnknownProperties(rootObject, typeof(ModelManifest), "", problems);

        try
        {
            return rootObject.Deserialize<ModelManifest>(ModelManifestJson.Options);
        }
        catch (JsonException e)
        {
            var path = e.Path is { Length: > 2 } p ? p[2..] : "(root)";
            problems.Add($"{path}: {e.Message.Split(" Path:")[0]}");
            return null;
        }
    }

    /// <summary>Checks the manifest against its version directory and resolves what it names; null when it cannot be.</summary>
    internal static ModelDefinition? Validate(ModelManifest manifest, string directory, bool taskKnown, List<string> problems)
    {
        var initialProblems = problems.Count;
        var task = manifest.Task;

        ValidateIdentity(manifest, directory, problems);

        string? modelPath = null;
        if (task != ModelTask.Ocr)
        {
            modelPath = Path.Combine(directory, ModelFileName);
            if (!File.Exists(modelPath))
            {
                problems.Add($"{ModelFileName} is missing from {directory}");
            }
        }

        var needsInput = task is ModelTask.ImageClassification or ModelTask.TextDetection or ModelTask.TextRecognition;
        if (manifest.Input is { } input)
        {
            ValidateInput(input, problems);
            if (input.Resize.Overflow is ResizeOverflows.Windows && task != ModelTask.ImageClassification)
            {
                problems.Add($"input.resize.overflow '{ResizeOverflows.Windows}' averages class scores, so it needs task 'image-classification'");
            }
        }
        else if (needsInput && taskKnown)
        {
            problems.Add($"input is required for task '{TaskName(task)}'");
        }

        var labels = LoadLabels(manifest, directory, task, taskKnown, problems);
        var ctcClasses = LoadDictionary(manifest, directory, task, taskKnown, problems);

        var postprocessing = manifest.Postprocessing ?? DefaultPostprocessing(task);
        if (postprocessing is not null && taskKnown)
        {
            ValidatePostprocessing(postprocessing, task, labels, problems);
        }

        if (task == ModelTask.Ocr && taskKnown)
        {
            ValidatePipeline(manifest.Pipeline, problems);
        }

        if (manifest.Batching is { } batching)
        {
            if (batching.MaxBatchSize is < 1 or > 1024)
            {
                problems.Add($"batching.maxBatchSize must be between 1 and 1024, got {batching.MaxBatchSize}");
            }

            if (batching.MaxQueueDelayMs is < 0 or > 10_000)
            {
                problems.Add($"batching.maxQueueDelayMs must be between 0 and 10000, got {batching.MaxQueueDelayMs}");
            }
        }

        ValidateFiles(manifest.Files, directory, problems);
        ValidateSamples(manifest.Samples, directory, problems);

        if (problems.Count > initialProblems)
        {
            return null;
        }

        return new ModelDefinition(manifest with { Postprocessing = postprocessing }, directory, modelPath, labels, ctcClasses);
    }

    private static void ValidateIdentity(ModelManifest manifest, string directory, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(manifest.Name))
        {
            problems.Add("name is required");
        }
        else if (!ModelNamePattern().IsMatch(manifest.Name))
        {
            problems.Add($"name '{manifest.Name}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        else if (Path.GetFileName(Path.GetDirectoryName(directory)) is { Length: > 0 } modelDirectory && modelDirectory != manifest.Name)
        {
            problems.Add($"name '{manifest.Name}' does not match its model directory '{modelDirectory}'");
        }

        if (manifest.Version < 1)
        {
            problems.Add($"version must be a positive integer, got {manifest.Version}");
        }
        else if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var directoryVersion)
            && directoryVersion != manifest.Version)
        {
            problems.Add($"version {manifest.Version} does not match its version directory '{directoryVersion}'");
        }
    }

    private static void ValidateInput(InputSpec input, List<string> problems)
    {
        if (input.Name is { Length: 0 })
        {
            problems.Add("input.name must not be empty (leave it out to use the model's first input)");
        }

        if (!TensorLayouts.All.Contains(input.Layout, StringComparer.Ordinal))
        {
            problems.Add($"input.layout '{input.Layout}' is unknown (expected one of {Quote(TensorLayouts.All)})");
        }

        if (!ColorOrders.All.Contains(input.ColorOrder, StringComparer.Ordinal))
        {
            problems.Add($"input.colorOrder '{input.ColorOrder}' is unknown (expected one of {Quote(ColorOrders.All)})");
        }

        if (input.Mean.Count != 3)
        {
            problems.Add($"input.mean must have 3 values, got {input.Mean.Count}");
        }

        if (input.Std.Count != 3)
        {
            problems.Add($"input.std must have 3 values, got {input.Std.Count}");
        }
        else if (input.Std.Any(v => v <= 0 || !float.IsFinite(v)))
        {
            problems.Add($"input.std values must be positive, got [{string.Join(", ", input.Std)}]");
        }

        if (input.Scale <= 0 || !float.IsFinite(input.Scale))
        {
            problems.Add($"input.scale must be positive, got {input.Scale}");
        }

        var resize = input.Resize;
        switch (resize.Mode)
        {
            case ResizeModes.Fixed:
                RequirePositive(resize.Width, "input.resize.width", resize.Mode, problems);
                RequirePositive(resize.Height, "input.resize.height", resize.Mode, problems);
                break;
            case ResizeModes.FixedHeight:
                RequirePositive(resize.Height, "input.resize.height", resize.Mode, problems);
                RequirePositive(resize.MaxWidth, "input.resize.maxWidth", resize.Mode, problems);
                if (resize.MinWidth is < 1)
                {
                    problems.Add($"input.resize.minWidth must be positive, got {resize.MinWidth}");
                }
                else if (resize.MinWidth > resize.MaxWidth)
                {
                    problems.Add($"input.resize.minWidth {resize.MinWidth} is larger than maxWidth {resize.MaxWidth}");
                }

                if (resize.WidthMultiple is < 1)
                {
                    problems.Add($"input.resize.widthMultiple must be positive, got {resize.WidthMultiple}");
                }

                if (resize.Overflow is { } overflow && !ResizeOverflows.All.Contains(overflow, StringComparer.Ordinal))
                {
                    problems.Add($"input.resize.overflow '{overflow}' is unknown (expected one of {Quote(ResizeOverflows.All)})");
                }

                break;
            case ResizeModes.MaxSide:
                RequirePositive(resize.MaxSide, "input.resize.maxSide", resize.Mode, problems);
                if (resize.Multiple is < 1)
                {
                    problems.Add($"input.resize.multiple must be positive, got {resize.Multiple}");
                }

                if (resize.MinSide is < 1 || resize.MinSide > resize.MaxSide)
                {
                    problems.Add($"input.resize.minSide must be positive and at most maxSide ({resize.MaxSide}), got {resize.MinSide}");
                }

                break;
            case ResizeModes.None:
                break;
            default:
                problems.Add($"input.resize.mode '{resize.Mode}' is unknown (expected one of {Quote(ResizeModes.All)})");
                break;
        }
    }

    private static void RequirePositive(int? value, string name, string mode, List<string> problems)
    {
        if (value is null)
        {
            problems.Add($"{name} is required for resize mode '{mode}'");
        }
        else if (value < 1)
        {
            problems.Add($"{name} must be positive, got {value}");
        }
    }

    private static List<string>? LoadLabels(ModelManifest manifest, string directory, ModelTask task, bool taskKnown, List<string> problems)
    {
        if (manifest.Labels is not null && manifest.LabelsFile is not null)
        {
            problems.Add("labels and labelsFile are both set; use one");
            return null;
        }

        if (manifest.Labels is { } inline)
        {
            if (inline.Count == 0)
            {
                problems.Add("labels must not be empty");
            }

            return [.. inline];
        }

        if (manifest.LabelsFile is { } labelsFile)
        {
            var path = ResolveFile(directory, labelsFile, "labelsFile", problems);
            if (path is null)
            {
                return null;
            }

            var lines = File.ReadAllLines(path).ToList();
            if (lines.Count == 0)
            {
                problems.Add($"labelsFile '{labelsFile}' is empty");
            }

            return lines;
        }

        if (task == ModelTask.ImageClassification && taskKnown)
        {
            problems.Add("labels or labelsFile is required for task 'image-classification'");
        }

        return null;
    }

    private static List<string>? LoadDictionary(ModelManifest manifest, string directory, ModelTask task, bool taskKnown, List<string> problems)
    {
        if (manifest.DictionaryFile is not { } dictionaryFile)
        {
            if (task == ModelTask.TextRecognition && taskKnown)
            {
                problems.Add("dictionaryFile is required for task 'text-recognition'");
            }

            return null;
        }

        var path = ResolveFile(directory, dictionaryFile, "dictionaryFile", problems);
        if (path is null)
        {
            return null;
        }

        // PaddleOCR's CTC classes: blank, then the dictionary's lines, then a space when use_space_char is set.
        List<string> classes = [""];
        classes.AddRange(File.ReadAllLines(path));
        if (classes.Count == 1)
        {
            problems.Add($"dictionaryFile '{dictionaryFile}' is empty");
        }

        if (manifest.UseSpaceChar)
        {
            classes.Add(" ");
        }

        return classes;
    }

    private static PostprocessingSpec? DefaultPostprocessing(ModelTask task) => task switch
    {
        ModelTask.ImageClassification => new PostprocessingSpec { Type = PostprocessingTypes.SoftmaxTopK },
        ModelTask.TextDetection => new PostprocessingSpec { Type = PostprocessingTypes.Db },
        ModelTask.TextRecognition => new PostprocessingSpec { Type = PostprocessingTypes.CtcGreedy },
        _ => null,
    };

    private static void ValidatePostprocessing(PostprocessingSpec spec, ModelTask task, List<string>? labels, List<string> problems)
    {
        if (!PostprocessingTypes.All.Contains(spec.Type, StringComparer.Ordinal))
        {
            problems.Add($"postprocessing.type '{spec.Type}' is unknown (expected one of {Quote(PostprocessingTypes.All)})");
            return;
        }

        var expected = DefaultPostprocessing(task)?.Type;
        if (spec.Type != expected)
        {
            problems.Add(expected is null
                ? $"postprocessing '{spec.Type}' does not apply to task '{TaskName(task)}' (leave it out)"
                : $"postprocessing '{spec.Type}' does not apply to task '{TaskName(task)}' (expected '{expected}')");
            return;
        }

        switch (spec.Type)
        {
            case PostprocessingTypes.SoftmaxTopK:
                if (spec.K is < 1)
                {
                    problems.Add($"postprocessing.k must be positive, got {spec.K}");
                }
                else if (spec.K > labels?.Count)
                {
                    problems.Add($"postprocessing.k {spec.K} is more than the {labels.Count} labels");
                }

                break;
            case PostprocessingTypes.Db:
                if (spec.Thresh is <= 0 or >= 1)
                {
                    problems.Add($"postprocessing.thresh must be between 0 and 1, got {spec.Thresh}");
                }

                if (spec.BoxThresh is < 0 or > 1)
                {
                    problems.Add($"postprocessing.boxThresh must be between 0 and 1, got {spec.BoxThresh}");
                }

                if (spec.UnclipRatio is <= 0)
                {
                    problems.Add($"postprocessing.unclipRatio must be positive, got {spec.UnclipRatio}");
                }

                if (spec.MaxCandidates is < 1)
                {
                    problems.Add($"postprocessing.maxCandidates must be positive, got {spec.MaxCandidates}");
                }

                if (spec.MinSize is < 0)
                {
                    problems.Add($"postprocessing.minSize must not be negative, got {spec.MinSize}");
                }

                break;
        }
    }

    private static void ValidatePipeline(PipelineSpec? pipeline, List<string> problems)
    {
        if (pipeline is null)
        {
            problems.Add("pipeline is required for task 'ocr'");
            return;
        }

        if (string.IsNullOrWhiteSpace(pipeline.Detection))
        {
            problems.Add("pipeline.detection is required (the text-detection model's name)");
        }

        if (string.IsNullOrWhiteSpace(pipeline.Recognition))
        {
            problems.Add("pipeline.recognition is required (the text-recognition model's name)");
        }

        if (pipeline.Classification is { Length: 0 })
        {
            problems.Add("pipeline.classification must not be empty (leave it out to skip orientation)");
        }

        if (pipeline.CropMargin is < 0 or > 2 || float.IsNaN(pipeline.CropMargin))
        {
            problems.Add($"pipeline.cropMargin must be between 0 and 2 (a fraction of the line height), got {pipeline.CropMargin}");
        }

        if (pipeline.CropMarginEnds is { } ends && (ends is < 0 or > 2 || float.IsNaN(ends)))
        {
            problems.Add($"pipeline.cropMarginEnds must be between 0 and 2 (a fraction of the line height), got {ends}");
        }

        if (pipeline.CropPadding is { } padding && !CropPaddings.All.Contains(padding, StringComparer.Ordinal))
        {
            problems.Add($"pipeline.cropPadding '{padding}' is unknown (expected one of {Quote(CropPaddings.All)})");
        }

        if (pipeline.RotateThreshold is < 0 or > 1)
        {
            problems.Add($"pipeline.rotateThreshold must be between 0 and 1, got {pipeline.RotateThreshold}");
        }
    }

    private static void ValidateFiles(IReadOnlyList<ModelFileEntry> files, string directory, List<string> problems)
    {
        for (var i = 0; i < files.Count; i++)
        {
            var entry = files[i];
            var name = $"files[{i}]";
            if (entry.Sha256 is null || !Sha256Pattern().IsMatch(entry.Sha256))
            {
                problems.Add($"{name}.sha256 must be 64 hexadecimal digits");
            }

            if (entry.Size < 0)
            {
                problems.Add($"{name}.size must not be negative, got {entry.Size}");
            }

            var path = ResolveFile(directory, entry.Path, $"{name}.path", problems);
            if (path is not null && new FileInfo(path).Length != entry.Size)
            {
                problems.Add($"{name}: '{entry.Path}' is {new FileInfo(path).Length} bytes, the manifest says {entry.Size}");
            }
        }
    }

    private static void ValidateSamples(IReadOnlyList<ModelSample> samples, string directory, List<string> problems)
    {
        for (var i = 0; i < samples.Count; i++)
        {
            var sample = samples[i];
            ResolveFile(directory, sample.Input, $"samples[{i}].input", problems);
            if (sample.Expected is null || (sample.Expected.Top1 is null && sample.Expected.Text is null && sample.Expected.Lines is null))
            {
                problems.Add($"samples[{i}].expected needs one of top1, text or lines");
            }
        }
    }

    /// <summary>A path named by the manifest, which must stay inside the version directory and exist.</summary>
    private static string? ResolveFile(string directory, string? relativePath, string name, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(relativePath))
        {
            problems.Add($"{name} must not be empty");
            return null;
        }

        var full = Path.GetFullPath(Path.Combine(directory, relativePath));
        if (Path.IsPathRooted(relativePath) || !full.StartsWith(directory + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            problems.Add($"{name} '{relativePath}' must be a path inside the version directory");
            return null;
        }

        if (!File.Exists(full))
        {
            problems.Add($"{name}: file '{relativePath}' not found in {directory}");
            return null;
        }

        return full;
    }

    /// <summary>Reports properties the schema does not know (a misspelt "unclipRatoi" would otherwise be silently ignored).</summary>
    private static void ReportUnknownProperties(JsonObject node, Type type, string prefix, List<string> problems)
    {
        var info = ModelManifestJson.Options.GetTypeInfo(type);
        if (info.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        foreach (var (key, child) in node)
        {
            var property = info.Properties.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase));
            var path = prefix.Length == 0 ? key : $"{prefix}.{key}";
            if (property is null)
            {
                problems.Add($"{path} is not a known property");
                continue;
            }

            var childInfo = ModelManifestJson.Options.GetTypeInfo(property.PropertyType);
            if (child is JsonObject childObject)
            {
                ReportUnknownProperties(childObject, property.PropertyType, path, problems);
            }
            else if (child is JsonArray array && childInfo.Kind == JsonTypeInfoKind.Enumerable && childInfo.ElementType is { } elementType)
            {
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonObject element)
                    {
                        ReportUnknownProperties(element, elementType, $"{path}[{i}]", problems);
                    }
                }
            }
        }
    }

    internal static string TaskName(ModelTask task) => JsonSerializer.Serialize(task, ModelManifestJson.Options).Trim('"');

    private static string Quote(IEnumerable<string> values) => string.Join(", ", values.Select(v => $"'{v}'"));

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex ModelNamePattern();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Pattern();
}
