using Engine.Postprocessing;

namespace Engine.Tests.Postprocessing;

public sealed class ClassificationTests
{
    [Fact]
    public void Softmax_of_small_logits_matches_the_closed_form()
    {
        var probabilities = Softmax.Apply([1f, 2f, 3f]);

        Assert.Equal(0.09003057f, probabilities[0], 6);
        Assert.Equal(0.24472847f, probabilities[1], 6);
        Assert.Equal(0.66524096f, probabilities[2], 6);
    }

    [Fact]
    public void Softmax_of_large_logits_does_not_overflow()
    {
        var probabilities = Softmax.Apply([1000f, 1000f]);

        Assert.Equal([0.5f, 0.5f], probabilities);
    }

    [Fact]
    public void Top_k_is_best_first_and_ties_keep_the_lower_index_first()
    {
        var top = TopK.Select([0.1f, 0.5f, 0.2f, 0.5f, 0.05f], 3);

        Assert.Equal([new ClassScore(1, 0.5f), new ClassScore(3, 0.5f), new ClassScore(2, 0.2f)], top);
    }

    [Fact]
    public void Top_k_larger_than_the_class_count_returns_every_class()
    {
        var top = TopK.Select([0.3f, 0.7f], 5);

        Assert.Equal([new ClassScore(1, 0.7f), new ClassScore(0, 0.3f)], top);
    }

    [Fact]
    public void Classify_labels_the_best_classes_of_logits()
    {
        var output = TopK.Classify([2f, 0f, 1f], ["cat", "dog", "fox"], k: 2, applySoftmax: true);

        Assert.Equal(["cat", "fox"], output.Labels.Select(l => l.Label));
        Assert.Equal([0, 2], output.Labels.Select(l => l.Index));
        Assert.Equal(0.66524096f, output.Labels[0].Score, 6);
        Assert.Equal(0.24472847f, output.Labels[1].Score, 6);
    }

    [Fact]
    public void Classify_keeps_probabilities_as_they_are_when_the_model_already_applied_softmax()
    {
        var output = TopK.Classify([0.02f, 0.98f], ["0", "180"], k: 1, applySoftmax: false);

        var best = Assert.Single(output.Labels);
        Assert.Equal(("180", 1, 0.98f), (best.Label, best.Index, best.Score));
    }
}
