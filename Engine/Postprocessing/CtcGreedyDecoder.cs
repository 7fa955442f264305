using System.Numerics.Tensors;
using System.Text;

namespace Engine.Postprocessing;

/// <summary>Best-path CTC decoding as PaddleOCR's CTCLabelDecode: argmax per step, merge repeats, drop the blank.</summary>
public static class CtcGreedyDecoder
{
    /// <param name="probs">[timeSteps, classes] row-major probabilities of one line.</param>
    /// <param name="characters">Text of each class by index; index 0 is the blank and is never emitted.</param>
    /// <returns>The text and the mean of the kept steps' probabilities (0 when nothing is kept).</returns>
    public static (string Text, float Confidence) Decode(ReadOnlySpan<float> probs, int timeSteps, int classes, IReadOnlyList<string> characters)
    {
        if (probs.Length != timeSteps * classes)
        {
            throw new ArgumentException($"expected {timeSteps}×{classes} = {timeSteps * classes} values, got {probs.Length}", nameof(probs));
        }

        if (characters.Count != classes)
        {
            throw new ArgumentException($"the model has {classes} classes but {characters.Count} characters were given", nameof(characters));
        }

        var text = new StringBuilder();
        var sum = 0.0;
        var kept = 0;
        var previous = -1;
        for (var t = 0; t < timeSteps; t++)
        {
            var row = probs.Slice(t * classes, classes);
            var best = TensorPrimitives.IndexOfMax(row);
            if (best != 0 && best != previous)
            {
                text.Append(characters[best]);
                sum += row[best];
                kept++;
            }

            previous = best;
        }

        return (text.ToString(), kept == 0 ? 0f : (float)(sum / kept));
    }
}
