using Contracts.Models;
using Engine.Imaging;
using Engine.Models;
using Engine.Onnx;
using Engine.Postprocessing;

namespace Engine.Inference;

/// <summary>Image classification: softmax + top-k over the manifest's labels.</summary>
public sealed class ClassificationRunner(ModelDefinition definition, RunnerOptions options) : OnnxModelRunner(definition, options)
{
    private readonly IReadOnlyList<string> _labels = definition.Labels ?? [];
    private readonly int _k = definition.Manifest.Postprocessing?.K ?? 5;
    private readonly bool _softmax = definition.Manifest.Postprocessing?.ApplySoftmax ?? true;

    protected override InferenceResult[] RunImages(IReadOnlyList<RgbImage> images)
    {
        var scores = Classify(images);
        return scores.Select(s => InferenceResult.Success(ToJson(s))).ToArray();
    }

    /// <summary>The classification of each image (also used by the OCR pipeline's orientation step).</summary>
    public ClassificationOutput[] Classify(IReadOnlyList<RgbImage> images)
    {
        using var batch = Preprocessor!.Prepare(images);
        using var outputs = Session.Run([new NamedTensor(InputName, batch.ToTensor())]);
        // Read in place: the scores are only needed until the top-k is taken.
        var logits = outputs.GetSpan<float>(outputs.Names[0]);
        var classes = logits.Length / batch.Resized.Length;
        var labels = _labels.Count == classes ? _labels : Enumerable.Range(0, classes).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var result = new ClassificationOutput[images.Count];
        if (batch.Owners is not { } owners)
        {
            for (var i = 0; i < images.Count; i++)
            {
                result[i] = TopK.Classify(logits.Slice(i * classes, classes), labels, Math.Min(_k, classes), _softmax);
            }
            return result;
        }

        // An image cut into windows scores the mean of its windows' probabilities.
        var sums = new float[images.Count * classes];
        var counts = new int[images.Count];
        var probabilities = new float[classes];
        for (var row = 0; row < owners.Length; row++)
        {
            var scores = logits.Slice(row * classes, classes);
            if (_softmax)
            {
                Softmax.Apply(scores, probabilities);
                scores = probabilities;
            }
            System.Numerics.Tensors.TensorPrimitives.Add(sums.AsSpan(owners[row] * classes, classes), scores, sums.AsSpan(owners[row] * classes, classes));
            counts[owners[row]]++;
        }
        for (var i = 0; i < images.Count; i++)
        {
            var mean = sums.AsSpan(i * classes, classes);
            System.Numerics.Tensors.TensorPrimitives.Divide(mean, counts[i], mean);
            result[i] = TopK.Classify(mean, labels, Math.Min(_k, classes), applySoftmax: false);
        }
        return result;
    }
}

/// <summary>Text-line recognition: CTC greedy decoding over the manifest's dictionary.</summary>
public sealed class TextRecognitionRunner(ModelDefinition definition, RunnerOptions options) : OnnxModelRunner(definition, options)
{
    private readonly IReadOnlyList<string> _classes = definition.CtcClasses ?? [];

    protected override InferenceResult[] RunImages(IReadOnlyList<RgbImage> images) =>
        Recognize(images).Select(r => InferenceResult.Success(ToJson(r))).ToArray();

    public TextRecognitionOutput[] Recognize(IReadOnlyList<RgbImage> lines)
    {
        using var batch = Preprocessor!.Prepare(lines);
        using var outputs = Session.Run([new NamedTensor(InputName, batch.ToTensor())]);
        // Read in place: the output is lines × steps × dictionary (~1 MB a line), decoded once and dropped.
        var (_, shape) = outputs.GetTypeAndShape(outputs.Names[0]);
        var (steps, classes) = ((int)shape[1], (int)shape[2]);
        var probs = outputs.GetSpan<float>(outputs.Names[0]);
        var result = new TextRecognitionOutput[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            var (text, confidence) = CtcGreedyDecoder.Decode(probs.Slice(i * steps * classes, steps * classes), steps, classes, _classes);
            result[i] = new TextRecognitionOutput(text, confidence);
        }
        return result;
    }
}

/// <summary>Text detection (DB): one image per run, since each keeps its own aspect ratio.</summary>
public sealed class TextDetectionRunner(ModelDefinition definition, RunnerOptions options) : OnnxModelRunner(definition, options)
{
    private readonly DbOptions _db = DbOptions.From(definition.Manifest.Postprocessing);

    protected override InferenceResult[] RunImages(IReadOnlyList<RgbImage> images) =>
        images.Select(image => InferenceResult.Success(ToJson(new TextDetectionOutput(Detect(image).Select(b => b.ToDetectedBox()).ToList())))).ToArray();

    /// <summary>Text boxes of one image, in its own pixels, in reading order.</summary>
    public IReadOnlyList<TextBox> Detect(RgbImage image)
    {
        using var batch = Preprocessor!.Prepare([image]);
        using var outputs = Session.Run([new NamedTensor(InputName, batch.ToTensor())]);
        var (_, shape) = outputs.GetTypeAndShape(outputs.Names[0]);
        var (height, width) = ((int)shape[^2], (int)shape[^1]);
        var boxes = DbPostprocessor.ExtractBoxes(outputs.GetSpan<float>(outputs.Names[0]), height, width, _db,
            (float)image.Width / width, (float)image.Height / height, image.Width, image.Height);
        return ReadingOrder.Sort(boxes);
    }
}
