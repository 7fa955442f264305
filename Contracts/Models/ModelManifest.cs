// The model.json schema: one manifest per immutable model version in the bucket ({model}/{version}/model.json).
using System.Text.Json.Serialization;

namespace Contracts.Models;

/// <summary>What a model version is, how to feed it and how to read its output.</summary>
public sealed record ModelManifest
{
    public string Name { get; init; } = "";

    public int Version { get; init; }

    public ModelTask Task { get; init; }

    public string? Description { get; init; }

    /// <summary>How an image becomes the input tensor; absent for <see cref="ModelTask.Tensor"/> and <see cref="ModelTask.Ocr"/>.</summary>
    public InputSpec? Input { get; init; }

    /// <summary>Class labels, indexed by output position. Either this or <see cref="LabelsFile"/>.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>A UTF-8 file beside the manifest holding one label per line.</summary>
    public string? LabelsFile { get; init; }

    /// <summary>CTC dictionary beside the manifest, one character per line (class i+1 is line i; class 0 is the blank).</summary>
    public string? DictionaryFile { get; init; }

    /// <summary>Appends " " as the last CTC class, as PaddleOCR's use_space_char does.</summary>
    public bool UseSpaceChar { get; init; }

    public PostprocessingSpec? Postprocessing { get; init; }

    /// <summary>For <see cref="ModelTask.Ocr"/>: the models this pipeline chains together.</summary>
    public PipelineSpec? Pipeline { get; init; }

    public BatchingSpec? Batching { get; init; }

    /// <summary>Every file of the version with its hash, so a copy can be checked for completeness.</summary>
    public IReadOnlyList<ModelFileEntry> Files { get; init; } = [];

    /// <summary>Sample inputs with expected outputs, run to validate a new version before it goes live.</summary>
    public IReadOnlyList<ModelSample> Samples { get; init; } = [];
}

[JsonConverter(typeof(JsonStringEnumConverter<ModelTask>))]
public enum ModelTask
{
    [JsonStringEnumMemberName("tensor")]
    Tensor,

    [JsonStringEnumMemberName("image-classification")]
    ImageClassification,

    [JsonStringEnumMemberName("text-detection")]
    TextDetection,

    [JsonStringEnumMemberName("text-recognition")]
    TextRecognition,

    [JsonStringEnumMemberName("ocr")]
    Ocr,
}

/// <summary>
/// Tensor value of channel c = (pixel * <see cref="Scale"/> - Mean[c]) / Std[c], with pixels taken in
/// <see cref="ColorOrder"/>, so Mean and Std are listed in the tensor's channel order.
/// </summary>
public sealed record InputSpec
{
    /// <summary>Input tensor name; null means the model's first input.</summary>
    public string? Name { get; init; }

    public string Layout { get; init; } = TensorLayouts.Nchw;

    public string ColorOrder { get; init; } = ColorOrders.Rgb;

    public ResizeSpec Resize { get; init; } = new();

    public IReadOnlyList<float> Mean { get; init; } = [0f, 0f, 0f];

    public IReadOnlyList<float> Std { get; init; } = [1f, 1f, 1f];

    public float Scale { get; init; } = 1f / 255f;

    /// <summary>Tensor value (after normalization) written where the resized image does not cover the tensor.</summary>
    public float PadValue { get; init; }
}

public static class TensorLayouts
{
    public const string Nchw = "NCHW";

    public static readonly IReadOnlyList<string> All = [Nchw];
}

public static class ColorOrders
{
    public const string Rgb = "RGB";
    public const string Bgr = "BGR";

    public static readonly IReadOnlyList<string> All = [Rgb, Bgr];
}

/// <summary>
/// <c>fixed</c>: stretch to Width×Height.
/// <c>fixed-height</c>: scale to Height keeping the ratio, width = ceil(Height·w/h) capped at MaxWidth; the tensor is
/// max(MinWidth, widest image of the batch) wide, rounded up to WidthMultiple, padded on the right.
/// <c>max-side</c>: shrink so the longer side is at most MaxSide, or enlarge so the shorter side is at least MinSide
/// (when set), then round each side to the nearest multiple of Multiple (at least Multiple).
/// <c>none</c>: the image as it is.
/// </summary>
public sealed record ResizeSpec
{
    public string Mode { get; init; } = ResizeModes.None;

    public int? Width { get; init; }

    public int? Height { get; init; }

    public int? MinWidth { get; init; }

    public int? MaxWidth { get; init; }

    public int? WidthMultiple { get; init; }

    /// <summary>
    /// For <c>fixed-height</c>: what happens to an image wider than MaxWidth at that height. <c>squash</c> (the
    /// default, PaddleOCR's rule) narrows it to MaxWidth; <c>windows</c> keeps its proportions and cuts it into
    /// overlapping MaxWidth-wide windows whose scores are averaged (image classification only).
    /// </summary>
    public string? Overflow { get; init; }

    public int? MaxSide { get; init; }

    /// <summary>For <c>max-side</c>: an image whose shorter side is below this is enlarged to it first (PaddleOCR 3's limit_type "min").</summary>
    public int? MinSide { get; init; }

    public int? Multiple { get; init; }
}

public static class ResizeOverflows
{
    public const string Squash = "squash";
    public const string Windows = "windows";

    public static readonly IReadOnlyList<string> All = [Squash, Windows];
}

public static class ResizeModes
{
    public const string Fixed = "fixed";
    public const string FixedHeight = "fixed-height";
    public const string MaxSide = "max-side";
    public const string None = "none";

    public static readonly IReadOnlyList<string> All = [Fixed, FixedHeight, MaxSide, None];
}

/// <summary>
/// <c>softmax-top-k</c>: K, ApplySoftmax. <c>ctc-greedy</c>: no options. <c>db</c>: Thresh, BoxThresh, UnclipRatio,
/// MaxCandidates, MinSize (PaddleOCR's defaults when absent: 0.3, 0.6, 1.5, 1000, 3).
/// </summary>
public sealed record PostprocessingSpec
{
    public string Type { get; init; } = "";

    public int? K { get; init; }

    public bool? ApplySoftmax { get; init; }

    public float? Thresh { get; init; }

    public float? BoxThresh { get; init; }

    public float? UnclipRatio { get; init; }

    public int? MaxCandidates { get; init; }

    public float? MinSize { get; init; }
}

public static class PostprocessingTypes
{
    public const string SoftmaxTopK = "softmax-top-k";
    public const string CtcGreedy = "ctc-greedy";
    public const string Db = "db";

    public static readonly IReadOnlyList<string> All = [SoftmaxTopK, CtcGreedy, Db];
}

/// <summary>The OCR pipeline: detect lines, optionally turn upside-down ones (classification), recognize each.</summary>
public sealed record PipelineSpec
{
    public string Detection { get; init; } = "";

    public string? Classification { get; init; }

    public string Recognition { get; init; } = "";

    /// <summary>A line is rotated 180° only when the classifier says "180" with at least this score.</summary>
    public float RotateThreshold { get; init; } = 0.9f;

    /// <summary>
    /// The recognizer's crop gets a margin of this fraction of the line height above and below the detected box (and
    /// at both ends unless <see cref="CropMarginEnds"/> says otherwise). The classifier and the box reported keep the
    /// detector's box.
    /// </summary>
    public float CropMargin { get; init; }

    /// <summary>The margin before the first and after the last character, as a fraction of the line height; default <see cref="CropMargin"/>.</summary>
    public float? CropMarginEnds { get; init; }

    /// <summary>
    /// What fills the margin: <c>image</c> (the default) cuts a wider box out of the image, which can take in parts of
    /// the lines above and below; <c>background</c> pads the flush crop with its own background colour (the median
    /// of its edge pixels).
    /// </summary>
    public string? CropPadding { get; init; }

    /// <summary>
    /// Join boxes that the detector split within one line (nearly horizontal pieces sharing most of their height, at
    /// most a word gap apart, or one inside the other) before reading them, so that no piece is read on its own.
    /// </summary>
    public bool MergeSplitLines { get; init; }
}

public static class CropPaddings
{
    public const string Image = "image";
    public const string Background = "background";

    public static readonly IReadOnlyList<string> All = [Image, Background];
}

public sealed record BatchingSpec
{
    public int MaxBatchSize { get; init; } = 1;

    public int MaxQueueDelayMs { get; init; }
}

/// <summary>A file of the version directory, path relative to it.</summary>
public sealed record ModelFileEntry(string Path, string Sha256, long Size);

/// <summary>A sample input (path relative to the version directory) and what the model must answer.</summary>
public sealed record ModelSample(string Input, SampleExpectation Expected);

/// <summary>One of: the top-1 label, the recognized text, or the OCR lines in reading order.</summary>
public sealed record SampleExpectation
{
    public string? Top1 { get; init; }

    public string? Text { get; init; }

    public IReadOnlyList<string>? Lines { get; init; }
}
