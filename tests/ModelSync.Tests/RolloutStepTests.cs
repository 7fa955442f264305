using Contracts.Models;
using ModelSync.Models;
using ModelSync.Rollout;

namespace ModelSync.Tests;

/// <summary>How a rollout step is judged from the workers' heartbeats: done, refused by a replacement, or still waiting.</summary>
public sealed class RolloutStepTests
{
    private const string Model = "ocr-cls";
    private static readonly HashSet<(string Instance, long Pid)> Before = [("worker-a", 10), ("worker-b", 20)];

    [Fact]
    public void Step_is_done_once_the_drained_worker_is_back_with_a_new_pid_serving_the_desired_version()
    {
        var step = RolloutStepView.Judge(Model, 2, ["worker-a"], Before, [Worker("worker-a", 11, 2), Worker("worker-b", 20, 1)]);

        Assert.Null(step.Refusal);
        Assert.Equal(["worker-a"], step.Done!.Select(w => w.Instance));
    }

    [Fact]
    public void Step_waits_while_the_drained_worker_still_runs_its_old_process_or_is_not_ready_yet()
    {
        Assert.Equal(RolloutStepView.Waiting, RolloutStepView.Judge(Model, 2, ["worker-a"], Before, [Worker("worker-a", 10, 1)]));
        Assert.Equal(RolloutStepView.Waiting, RolloutStepView.Judge(Model, 2, ["worker-a"], Before, [Worker("worker-a", 11, 2) with { Ready = false }]));
        // Back, but not with the model yet (its heartbeat lists no models while it loads).
        Assert.Equal(RolloutStepView.Waiting, RolloutStepView.Judge(Model, 2, ["worker-a"], Before,
            [new WorkerView("worker-a", 11, true, new Dictionary<string, int>(), [])]));
    }

    [Fact]
    public void Step_of_two_waits_for_both_and_counts_a_new_instance_as_a_replacement()
    {
        Assert.Equal(RolloutStepView.Waiting, RolloutStepView.Judge(Model, 2, ["worker-a", "worker-b"], Before, [Worker("worker-a", 11, 2)]));

        var step = RolloutStepView.Judge(Model, 2, ["worker-a", "worker-b"], Before, [Worker("worker-a", 11, 2), Worker("worker-c", 30, 2)]);
        Assert.Equal(["worker-a", "worker-c"], step.Done!.Select(w => w.Instance));
    }

    [Fact]
    public void Replacement_back_on_the_old_version_saying_it_cannot_serve_the_desired_one_refuses_the_step_with_its_reason()
    {
        const string fallback = "told to serve version 2: version 2 cannot be fetched: model.onnx does not match its sha256; serving version 1";

        var step = RolloutStepView.Judge(Model, 2, ["worker-a", "worker-b"], Before,
            [Worker("worker-a", 11, 1, fallback), Worker("worker-b", 21, 2)]);

        Assert.Null(step.Done);
        Assert.Equal($"worker worker-a came back without version 2: {fallback}", step.Refusal);
    }

    [Fact]
    public void Fallback_about_another_version_or_another_model_or_from_a_worker_not_drained_does_not_refuse_the_step()
    {
        // Told to serve 3 (an earlier desired version): not this step's verdict.
        var stale = Worker("worker-a", 11, 1, "told to serve version 3: version 3 cannot be fetched: gone; serving version 1");
        Assert.Equal(RolloutStepView.Waiting, RolloutStepView.Judge(Model, 2, ["worker-a"], Before, [stale]));

        var otherModel = Worker("worker-a", 11, 2) with
        {
            Fallbacks = new Dictionary<string, string> { ["ocr-rec"] = "told to serve version 2: version 2 cannot be fetched: gone; serving version 1" },
        };
        Assert.Equal(["worker-a"], RolloutStepView.Judge(Model, 2, ["worker-a"], Before, [otherModel]).Done!.Select(w => w.Instance));

        // worker-b was not drained in this step and still runs its old process.
        var untouched = Worker("worker-b", 20, 1, "told to serve version 2: version 2 cannot be fetched: gone; serving version 1");
        Assert.Equal(RolloutStepView.Waiting, RolloutStepView.Judge(Model, 2, ["worker-a"], Before, [untouched]));
    }

    [Fact]
    public void Failed_rollout_whose_timed_out_step_came_back_serving_its_version_is_carried_on()
    {
        var failed = new ModelRolloutState(2, 1, ModelRolloutStates.Failed, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, [],
            "worker worker-a was not ready with version 1 within 25 s", [["worker-a"]]);

        // Still loading, or back on another version: left failed.
        Assert.False(RolloutStepView.CameBackLate(Model, failed, [Worker("worker-a", 11, 1) with { Ready = false }, Worker("worker-b", 20, 2)]));
        Assert.False(RolloutStepView.CameBackLate(Model, failed, [Worker("worker-a", 11, 2), Worker("worker-b", 20, 2)]));
        // Back, ready, serving version 1: carried on (worker-b still has to go).
        Assert.True(RolloutStepView.CameBackLate(Model, failed, [Worker("worker-a", 11, 1), Worker("worker-b", 20, 2)]));
        // Only a failed rollout, and only one whose last step drained someone.
        Assert.False(RolloutStepView.CameBackLate(Model, failed with { State = ModelRolloutStates.RolledBack }, [Worker("worker-a", 11, 1)]));
        Assert.False(RolloutStepView.CameBackLate(Model, failed with { Steps = [] }, [Worker("worker-a", 11, 1)]));
    }

    private static WorkerView Worker(string instance, long pid, int version, string? fallback = null) =>
        new(instance, pid, true, new Dictionary<string, int> { [Model] = version }, [],
            fallback is null ? null : new Dictionary<string, string> { [Model] = fallback });
}
