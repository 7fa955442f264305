using Worker.Inference;

namespace Worker.Tests;

/// <summary>Which versions of a model a worker tries at start, best first: it never ends up serving nothing while a valid version is published.</summary>
public sealed class VersionChoiceTests
{
    [Fact]
    public void Desired_version_comes_first_then_the_newest_valid_ones()
    {
        Assert.Equal([2, 3, 1], VersionChoice.Candidates([1, 2, 3], new ModelVerdicts(2, new HashSet<int> { 1, 2, 3 })));
    }

    [Fact]
    public void Desired_version_missing_from_the_bucket_falls_back_to_the_newest_valid_published_one()
    {
        // ModelSync's state still says 4 (from another bucket, or before the version was deleted); 3 was found invalid.
        Assert.Equal([2, 1], VersionChoice.Candidates([1, 2, 3], new ModelVerdicts(4, new HashSet<int> { 1, 2, 4 })));
    }

    [Fact]
    public void Model_not_judged_yet_is_served_at_its_newest_published_version()
    {
        Assert.Equal([3, 2, 1], VersionChoice.Candidates([1, 2, 3], null));
        Assert.Equal([3, 2, 1], VersionChoice.Candidates([1, 2, 3], new ModelVerdicts(null, null)));
    }

    [Fact]
    public void Model_judged_with_no_valid_version_is_not_served()
    {
        Assert.Empty(VersionChoice.Candidates([1, 2], new ModelVerdicts(null, new HashSet<int>())));
    }

    [Fact]
    public void Model_gone_from_the_bucket_has_nothing_to_serve()
    {
        Assert.Empty(VersionChoice.Candidates([], new ModelVerdicts(2, new HashSet<int> { 1, 2 })));
    }
}
