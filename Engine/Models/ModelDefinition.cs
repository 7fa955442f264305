using Contracts.Models;

namespace Engine.Models;

/// <summary>A validated manifest with everything it names resolved: ready for a runner to load.</summary>
/// <param name="Directory">Absolute path of the version directory.</param>
/// <param name="ModelPath">Absolute path of model.onnx; null for a pipeline (task <c>ocr</c>), which has no weights.</param>
/// <param name="Labels">Class labels (inline or from labelsFile), or null.</param>
/// <param name="CtcClasses">CTC classes by output index: "" for the blank at 0, the dictionary, then " " when useSpaceChar; or null.</param>
public sealed record ModelDefinition(
    ModelManifest Manifest,
    string Directory,
    string? ModelPath,
    IReadOnlyList<string>? Labels,
    IReadOnlyList<string>? CtcClasses)
{
    public string Name => Manifest.Name;

    public int Version => Manifest.Version;
}
