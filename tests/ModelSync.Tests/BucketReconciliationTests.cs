using Contracts.Models;
using ModelSync.Models;

namespace ModelSync.Tests;

/// <summary>What one poll decides for a model: versions gone from the bucket, versions to judge, the desired version and its pin.</summary>
public sealed class BucketReconciliationTests
{
    private static readonly DateTimeOffset Judged = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Judged.AddHours(1);

    [Fact]
    public void Version_deleted_from_the_bucket_is_marked_removed_with_the_time_and_its_old_verdict()
    {
        var known = Verdicts((1, Valid("a")), (2, Valid("b")), (3, Invalid("c")));

        var plan = BucketReconciliation.Plan(known, Published((1, "a")), "/buckets/models", Now);

        Assert.Equal([2, 3], plan.Removed.Keys.Order());
        Assert.All(plan.Removed.Values, v => Assert.Equal(ModelVersionStates.Removed, v.State));
        Assert.All(plan.Removed.Values, v => Assert.Equal(Now, v.RemovedAt));
        Assert.Equal("no longer published in /buckets/models (was valid)", plan.Removed[2].Reason);
        Assert.Equal("no longer published in /buckets/models (was invalid)", plan.Removed[3].Reason);
        Assert.Equal(Judged, plan.Removed[2].CheckedAt);
        Assert.Empty(plan.ToJudge);
    }

    [Fact]
    public void Version_already_removed_is_not_removed_again()
    {
        var removed = Valid("b") with { State = ModelVersionStates.Removed, RemovedAt = Judged };

        var plan = BucketReconciliation.Plan(Verdicts((1, Valid("a")), (2, removed)), Published((1, "a")), "bucket", Now);

        Assert.Empty(plan.Removed);
        Assert.Empty(plan.ToJudge);
    }

    [Fact]
    public void New_version_a_returning_one_and_other_bytes_under_a_known_number_are_judged()
    {
        var known = Verdicts(
            (1, Valid("a")),
            (2, Valid("b") with { State = ModelVersionStates.Removed, RemovedAt = Judged }),
            (3, Valid("c")),
            (4, Valid(manifest: null))); // judged before verdicts recorded their manifest: left as it is

        var plan = BucketReconciliation.Plan(known, Published((1, "a"), (2, "b"), (3, "other"), (4, "d"), (5, "e")), "bucket", Now);

        Assert.Equal([2, 3, 5], plan.ToJudge);
        Assert.Empty(plan.Removed);
    }

    [Fact]
    public void Every_version_of_a_model_gone_from_the_bucket_is_removed()
    {
        var plan = BucketReconciliation.Plan(Verdicts((1, Valid("a")), (2, Valid("b"))), Published(), "bucket", Now);

        Assert.Equal([1, 2], plan.Removed.Keys.Order());
        Assert.Null(BucketReconciliation.ChooseDesired(Apply(plan, Verdicts((1, Valid("a")), (2, Valid("b")))), pinned: null).Desired);
    }

    [Fact]
    public void Desired_is_the_newest_valid_version_and_removed_ones_never_count()
    {
        var versions = Verdicts((1, Valid("a")), (2, Valid("b")), (3, Invalid("c")), (4, Valid("d") with { State = ModelVersionStates.Removed }));

        Assert.Equal(new DesiredChoice(2, null), BucketReconciliation.ChooseDesired(versions, pinned: null));
    }

    [Fact]
    public void Valid_pin_holds_even_when_newer_versions_exist()
    {
        var versions = Verdicts((1, Valid("a")), (2, Valid("b")));

        Assert.Equal(new DesiredChoice(1, null), BucketReconciliation.ChooseDesired(versions, pinned: 1));
    }

    [Fact]
    public void Pin_on_a_removed_version_is_lifted_and_desired_falls_back_to_the_newest_valid()
    {
        var versions = Verdicts((1, Valid("a")), (2, Valid("b")), (3, Valid("c") with { State = ModelVersionStates.Removed }));

        var choice = BucketReconciliation.ChooseDesired(versions, pinned: 3);

        Assert.Equal(2, choice.Desired);
        Assert.Equal("pinned version 3 was removed from the bucket: unpinned, desired falls back to version 2", choice.LiftPin);
    }

    [Fact]
    public void Pin_on_a_version_this_bucket_never_had_is_lifted()
    {
        var choice = BucketReconciliation.ChooseDesired(Verdicts((1, Valid("a"))), pinned: 7);

        Assert.Equal(1, choice.Desired);
        Assert.Equal("pinned version 7 is not in the bucket: unpinned, desired falls back to version 1", choice.LiftPin);
    }

    [Fact]
    public void Pin_lifted_with_nothing_valid_left_withdraws_the_model()
    {
        var versions = Verdicts((1, Valid("a") with { State = ModelVersionStates.Removed }), (2, Invalid("b")));

        var choice = BucketReconciliation.ChooseDesired(versions, pinned: 1);

        Assert.Null(choice.Desired);
        Assert.Equal("pinned version 1 was removed from the bucket: unpinned, and no valid version is published: the model is withdrawn", choice.LiftPin);
    }

    [Fact]
    public void Manifest_hash_is_the_sha256_of_the_text()
    {
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", BucketReconciliation.ManifestHash("abc"));
    }

    private static ModelVersionState Valid(string? manifest) => new(ModelVersionStates.Valid, null, Judged, manifest);

    private static ModelVersionState Invalid(string manifest) => new(ModelVersionStates.Invalid, "cannot be loaded: bad", Judged, manifest);

    private static Dictionary<int, ModelVersionState> Verdicts(params (int Version, ModelVersionState State)[] versions) =>
        versions.ToDictionary(v => v.Version, v => v.State);

    private static Dictionary<int, string> Published(params (int Version, string Manifest)[] versions) =>
        versions.ToDictionary(v => v.Version, v => v.Manifest);

    private static Dictionary<int, ModelVersionState> Apply(VersionPlan plan, Dictionary<int, ModelVersionState> known)
    {
        foreach (var (version, state) in plan.Removed)
        {
            known[version] = state;
        }
        return known;
    }
}
