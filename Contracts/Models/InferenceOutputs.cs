// The outputs a job returns, one shape per task; points are [x, y] in the original image's pixels.
namespace Contracts.Models;

public sealed record ClassificationOutput(IReadOnlyList<LabelScore> Labels);

public sealed record LabelScore(string Label, int Index, float Score);

public sealed record TextRecognitionOutput(string Text, float Confidence);

public sealed record TextDetectionOutput(IReadOnlyList<DetectedBox> Boxes);

/// <summary>Four corners clockwise from top-left, each [x, y].</summary>
public sealed record DetectedBox(float[][] Points, float Score);

public sealed record OcrOutput(IReadOnlyList<OcrLine> Lines);

/// <summary>A recognized line; <see cref="Angle"/> is 180 when the crop was turned upright before recognition.</summary>
public sealed record OcrLine(string Text, float Confidence, float[][] Box, int Angle);
