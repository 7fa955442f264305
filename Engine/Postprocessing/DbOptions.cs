using Contracts.Models;

namespace Engine.Postprocessing;

/// <summary>Differentiable Binarization postprocessing settings; the defaults are PaddleOCR's.</summary>
public sealed record DbOptions
{
    /// <summary>A pixel is text when its probability is above this.</summary>
    public float Thresh { get; init; } = 0.3f;

    /// <summary>A box is kept when the mean probability inside it is at least this.</summary>
    public float BoxThresh { get; init; } = 0.6f;

    /// <summary>The shrunk text kernel is grown by area × ratio / perimeter on each side.</summary>
    public float UnclipRatio { get; init; } = 1.5f;

    public int MaxCandidates { get; init; } = 1000;

    /// <summary>Boxes whose short side (in probability-map pixels) is below this are dropped.</summary>
    public float MinSize { get; init; } = 3f;

    public static DbOptions From(PostprocessingSpec? spec)
    {
        var defaults = new DbOptions();
        return spec is null ? defaults : new DbOptions
        {
            Thresh = spec.Thresh ?? defaults.Thresh,
            BoxThresh = spec.BoxThresh ?? defaults.BoxThresh,
            UnclipRatio = spec.UnclipRatio ?? defaults.UnclipRatio,
            MaxCandidates = spec.MaxCandidates ?? defaults.MaxCandidates,
            MinSize = spec.MinSize ?? defaults.MinSize,
        };
    }
}
