using Contracts.Models;

namespace Engine.Postprocessing;

/// <summary>A class index and its score.</summary>
public readonly record struct ClassScore(int Index, float Score);

public static class TopK
{
    /// <summary>The <paramref name="k"/> highest scores, best first; equal scores keep the lower index first.</summary>
    public static ClassScore[] Select(ReadOnlySpan<float> scores, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        k = Math.Min(k, scores.Length);
        var best = new ClassScore[k];
        var count = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var score = scores[i];
            if (count == k && !(score > best[k - 1].Score))
            {
                continue;
            }

            // Insertion into the small sorted buffer: k is tiny (5) next to the class count (1000).
            var position = count < k ? count++ : k - 1;
            while (position > 0 && score > best[position - 1].Score)
            {
                best[position] = best[position - 1];
                position--;
            }

            best[position] = new ClassScore(i, score);
        }

        return best;
    }

    /// <summary>The classification output for one image's scores: softmax first when the model emits logits.</summary>
    public static ClassificationOutput Classify(ReadOnlySpan<float> output, IReadOnlyList<string> labels, int k, bool applySoftmax)
    {
        if (output.Length != labels.Count)
        {
            throw new ArgumentException($"the model gave {output.Length} scores for {labels.Count} labels", nameof(output));
        }

        var scores = applySoftmax ? Softmax.Apply(output) : output;
        var top = Select(scores, k);
        return new ClassificationOutput([.. top.Select(c => new LabelScore(labels[c.Index], c.Index, c.Score))]);
    }
}
