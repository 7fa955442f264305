using Contracts.Jobs;
using Contracts.Models;
using Engine.Imaging;
using Engine.Models;
using Engine.Postprocessing;

namespace Engine.Inference;

/// <summary>
/// The OCR pipeline: detect text boxes, cut each out and straighten it, turn upside-down lines upright
/// (when the classifier is sure), recognize them all in one batch; lines come back in reading order.
/// </summary>
public sealed class OcrPipelineRunner(ModelDefinition definition, TextDetectionRunner detector, ClassificationRunner? classifier, TextRecognitionRunner recognizer)
    : IModelRunner
{
    private readonly ImagePreprocessor _decoder = detector.Definition.Manifest.Input is { } spec ? new ImagePreprocessor(spec) : throw new ArgumentException("the detector needs an input spec");
    // One instance: System.Text.Json caches its serialization metadata per options object.
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web);
    private readonly float _rotateThreshold = definition.Manifest.Pipeline?.RotateThreshold ?? 0.9f;
    private readonly float _cropMargin = definition.Manifest.Pipeline?.CropMargin ?? 0f;
    private readonly float _cropMarginEnds = definition.Manifest.Pipeline?.CropMarginEnds ?? definition.Manifest.Pipeline?.CropMargin ?? 0f;
    private readonly bool _padWithBackground = definition.Manifest.Pipeline?.CropPadding == CropPaddings.Background;
    private readonly bool _mergeSplitLines = definition.Manifest.Pipeline?.MergeSplitLines ?? false;

    public string Model => definition.Name;

    /// <summary>The stages, shared with the runners of the same models built by the same factory.</summary>
    public TextDetectionRunner Detector => detector;

    public ClassificationRunner? Classifier => classifier;

    public TextRecognitionRunner Recognizer => recognizer;

    public int Version => definition.Version;

    public int MaxBatchSize => Math.Max(1, definition.Manifest.Batching?.MaxBatchSize ?? 4);

    public TimeSpan MaxQueueDelay => TimeSpan.FromMilliseconds(definition.Manifest.Batching?.MaxQueueDelayMs ?? 5);

    public InferenceResult[] Run(IReadOnlyList<JobInput> batch)
    {
        var results = new InferenceResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Kind != InputKinds.Image)
            {
                results[i] = InferenceResult.ClientError(JobErrorCodes.InvalidInput, $"Model '{Model}' is a pipeline over images; send an image.");
                continue;
            }
            RgbImage image;
            try
            {
                image = ImageDecoder.Decode(batch[i].Data.Span, _decoder.DecodeOptions with { TargetWidth = 0, TargetHeight = 0 });
            }
            catch (ImageDecodeException e)
            {
                results[i] = OnnxModelRunner.ImageError(e);
                continue;
            }
            results[i] = InferenceResult.Success(System.Text.Json.JsonSerializer.SerializeToElement(Read(image), JsonOptions));
        }
        return results;
    }

    public OcrOutput Read(RgbImage image)
    {
        var boxes = detector.Detect(image);
        if (_mergeSplitLines)
        {
            boxes = SplitLineMerger.Merge(boxes);
        }
        if (boxes.Count == 0)
        {
            return new OcrOutput([]);
        }
        // The classifier gets PaddleOCR's crop, flush with the box; the recognizer gets the same with a margin
        // (pipeline.cropMargin above and below, cropMarginEnds at the ends): with the line filling its whole 48 px
        // height it drops word gaps and misreads the characters at the ends ("0rder"). Filled from the image, a margin
        // above and below can take in the neighbouring lines' ink; cropPadding "background" fills it with paper.
        var crops = new List<RgbImage>(boxes.Count);
        var lines = new List<RgbImage>(boxes.Count);
        foreach (var box in boxes)
        {
            var quad = box.Points.Select(p => new PointF(p.X, p.Y)).ToArray();
            var crop = ImageOps.CropTextBox(image, quad);
            crops.Add(crop);
            lines.Add(WithMargin(image, quad, crop, Math.Min(box.Width, box.Height)));
        }
        var angles = new int[crops.Count];
        if (classifier is not null)
        {
            var orientation = classifier.Classify(crops);
            for (var i = 0; i < crops.Count; i++)
            {
                var top = orientation[i].Labels[0];
                if (top.Label == "180" && top.Score >= _rotateThreshold)
                {
                    lines[i] = ImageOps.Rotate180(lines[i]);
                    angles[i] = 180;
                }
            }
        }
        var texts = recognizer.Recognize(lines);
        var result = new List<OcrLine>(boxes.Count);
        for (var i = 0; i < boxes.Count; i++)
        {
            if (texts[i].Text.Trim().Length == 0)
            {
                continue;
            }
            result.Add(new OcrLine(texts[i].Text, texts[i].Confidence, boxes[i].ToDetectedBox().Points, angles[i]));
        }
        return new OcrOutput(result);
    }

    private RgbImage WithMargin(RgbImage image, PointF[] quad, RgbImage crop, float lineHeight)
    {
        var (ends, sides) = (_cropMarginEnds * lineHeight, _cropMargin * lineHeight);
        if (ends <= 0 && sides <= 0)
        {
            return crop;
        }
        if (_padWithBackground)
        {
            // The crop runs along the line: CropTextBox has turned a tall box already.
            return ImageOps.PadWithBackground(crop, (int)MathF.Round(ends), (int)MathF.Round(sides));
        }
        var (width, height) = ImageOps.QuadCropSize(quad);
        return ImageOps.CropTextBox(image, height >= 1.5 * width ? ImageOps.WidenQuad(quad, sides, ends) : ImageOps.WidenQuad(quad, ends, sides));
    }

    public void Dispose()
    {
        // Nothing of its own to release: the stage runners are shared and owned by the factory that built them.
    }
}
