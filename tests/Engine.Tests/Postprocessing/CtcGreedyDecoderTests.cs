using Engine.Postprocessing;

namespace Engine.Tests.Postprocessing;

public sealed class CtcGreedyDecoderTests
{
    private static readonly string[] Classes = ["", "a", "b", " "];

    /// <summary>One row per step: the given class gets the given probability, the rest share what is left.</summary>
    private static float[] Matrix(params (int Class, float Probability)[] steps)
    {
        var probs = new float[steps.Length * Classes.Length];
        for (var t = 0; t < steps.Length; t++)
        {
            for (var c = 0; c < Classes.Length; c++)
            {
                probs[(t * Classes.Length) + c] = c == steps[t].Class
                    ? steps[t].Probability
                    : (1 - steps[t].Probability) / (Classes.Length - 1);
            }
        }

        return probs;
    }

    [Fact]
    public void Repeats_merge_blanks_separate_and_the_space_class_is_text()
    {
        var probs = Matrix((1, 0.9f), (1, 0.8f), (0, 0.7f), (1, 0.6f), (2, 0.5f), (3, 0.95f), (3, 0.9f), (2, 0.4f));

        var (text, confidence) = CtcGreedyDecoder.Decode(probs, timeSteps: 8, classes: 4, Classes);

        Assert.Equal("aab b", text);
        // Kept steps: a 0.9, a 0.6, b 0.5, space 0.95, b 0.4.
        Assert.Equal((0.9f + 0.6f + 0.5f + 0.95f + 0.4f) / 5, confidence, 6);
    }

    [Fact]
    public void Only_blanks_decode_to_empty_text_with_zero_confidence()
    {
        var probs = Matrix((0, 0.99f), (0, 0.9f));

        Assert.Equal(("", 0f), CtcGreedyDecoder.Decode(probs, 2, 4, Classes));
    }

    [Fact]
    public void A_dictionary_that_does_not_match_the_class_count_is_refused()
    {
        var probs = Matrix((1, 0.9f));

        Assert.Throws<ArgumentException>(() => CtcGreedyDecoder.Decode(probs, 1, 4, ["", "a", "b"]));
    }
}
