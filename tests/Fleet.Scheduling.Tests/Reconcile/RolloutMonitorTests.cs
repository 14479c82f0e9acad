using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Scheduling.Reconcile;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Reconcile;

/// <summary>When a rollout is complete, progressing or failed (RolloutMonitor), from what the agents report.</summary>
public sealed class RolloutMonitorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 0, 0, TimeSpan.Zero);

    private static ServiceSpec Web(int failureThreshold = 3, TimeSpan? deadline = null) => Service("web", replicas: 3, health: true) with
    {
        Update = new UpdatePolicy { FailureThreshold = failureThreshold, ProgressDeadline = deadline ?? TimeSpan.FromMinutes(2) },
    };

    private static ReplicaStatus R(string id, long generation, ReplicaPhase phase, int restarts = 0, ReplicaHealth? health = null, string? reason = null) =>
        new(ReplicaId.Parse(id), Node("node1"), generation, phase,
            health ?? (phase == ReplicaPhase.Healthy ? ReplicaHealth.Healthy : ReplicaHealth.Unknown), "10.0.0.1", T0, restarts, reason);

    private static readonly ReplicaStatus[] OldThree =
        [R("web-aaaaa", 1, ReplicaPhase.Healthy), R("web-bbbbb", 1, ReplicaPhase.Healthy), R("web-ccccc", 1, ReplicaPhase.Healthy)];

    [Fact]
    public void A_rollout_is_complete_when_only_available_replicas_of_the_new_generation_remain()
    {
        var watch = RolloutWatch.Start(2, T0, OldThree);
        ReplicaStatus[] midway = [.. OldThree[1..], R("web-ddddd", 2, ReplicaPhase.Healthy), R("web-eeeee", 2, ReplicaPhase.Starting)];
        ReplicaStatus[] done = [R("web-ddddd", 2, ReplicaPhase.Healthy), R("web-eeeee", 2, ReplicaPhase.Healthy), R("web-fffff", 2, ReplicaPhase.Healthy),
            R("web-ccccc", 1, ReplicaPhase.Stopping)];

        var first = RolloutMonitor.Observe(watch, Web(), 2, midway, T0.AddSeconds(5));
        var second = RolloutMonitor.Observe(first.Watch, Web(), 2, done, T0.AddSeconds(10));

        Assert.Equal(RolloutVerdict.Progressing, first.Verdict);
        Assert.Equal((2, 1, 2), (first.Progress.Updated, first.Progress.Available, first.Progress.Old));
        Assert.Equal(RolloutVerdict.Complete, second.Verdict);
        Assert.Equal((3, 3, 0, RolloutOutcome.Complete), (second.Progress.Updated, second.Progress.Available, second.Progress.Old, second.Progress.Outcome));
    }

    [Fact]
    public void A_new_replica_failing_its_health_check_threshold_times_fails_the_rollout_with_its_reason()
    {
        var watch = RolloutWatch.Start(2, T0, OldThree);
        const string why = "health check failed: HTTP 404";

        var once = RolloutMonitor.Observe(watch, Web(), 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Running, 0, ReplicaHealth.Unhealthy, why)], T0.AddSeconds(3));
        var restarted = RolloutMonitor.Observe(once.Watch, Web(), 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Starting, 1, reason: "last exit: " + why)], T0.AddSeconds(4));
        var twice = RolloutMonitor.Observe(restarted.Watch, Web(), 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Exited, 1, reason: why)], T0.AddSeconds(7));
        var thrice = RolloutMonitor.Observe(twice.Watch, Web(), 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Exited, 2, reason: why)], T0.AddSeconds(11));

        Assert.Equal([RolloutVerdict.Progressing, RolloutVerdict.Progressing, RolloutVerdict.Progressing], new[] { once.Verdict, restarted.Verdict, twice.Verdict });
        Assert.Equal((1, 1, 2, 3), (once.Watch.FailureCount, restarted.Watch.FailureCount, twice.Watch.FailureCount, thrice.Watch.FailureCount));
        Assert.Equal(RolloutVerdict.Failed, thrice.Verdict);
        Assert.Equal($"new replicas failed 3 times (failureThreshold 3); last: web-ddddd: {why}", thrice.Reason);
        Assert.Equal((RolloutOutcome.Failed, 3), (thrice.Progress.Outcome, thrice.Progress.Old));
    }

    [Fact]
    public void Failures_of_replicas_replaced_since_still_count()
    {
        var watch = RolloutWatch.Start(2, T0, OldThree);

        var first = RolloutMonitor.Observe(watch, Web(failureThreshold: 2), 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Exited, 0, reason: "exited with code 1")], T0.AddSeconds(1));
        var second = RolloutMonitor.Observe(first.Watch, Web(failureThreshold: 2), 2, [.. OldThree, R("web-eeeee", 2, ReplicaPhase.Exited, 0, reason: "exited with code 1")], T0.AddSeconds(2));

        Assert.Equal(RolloutVerdict.Progressing, first.Verdict);
        Assert.Equal(RolloutVerdict.Failed, second.Verdict);
    }

    [Fact]
    public void A_new_replica_that_failed_for_good_fails_the_rollout_at_once()
    {
        var watch = RolloutWatch.Start(2, T0, OldThree);

        var judged = RolloutMonitor.Observe(watch, Web(failureThreshold: 10), 2,
            [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Failed, reason: "pull: MANIFEST_UNKNOWN")], T0.AddSeconds(1));

        Assert.Equal(RolloutVerdict.Failed, judged.Verdict);
        Assert.Equal("replica web-ddddd failed: pull: MANIFEST_UNKNOWN", judged.Reason);
    }

    [Fact]
    public void A_rollout_without_progress_for_the_deadline_fails_and_progress_resets_the_clock()
    {
        var spec = Web(deadline: TimeSpan.FromSeconds(30));
        var watch = RolloutWatch.Start(2, T0, OldThree);
        ReplicaStatus[] stuck = [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Pulling)];

        var start = RolloutMonitor.Observe(watch, spec, 2, stuck, T0);
        var before = RolloutMonitor.Observe(start.Watch, spec, 2, stuck, T0.AddSeconds(29));
        var progressed = RolloutMonitor.Observe(before.Watch, spec, 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Healthy)], T0.AddSeconds(29));
        var laterStill = RolloutMonitor.Observe(progressed.Watch, spec, 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Healthy)], T0.AddSeconds(50));
        var after = RolloutMonitor.Observe(laterStill.Watch, spec, 2, [.. OldThree, R("web-ddddd", 2, ReplicaPhase.Healthy)], T0.AddSeconds(60));

        Assert.Equal(RolloutVerdict.Progressing, before.Verdict);
        Assert.Equal(T0.AddSeconds(29), progressed.Watch.LastProgressAt);
        Assert.Equal(RolloutVerdict.Progressing, laterStill.Verdict);
        Assert.Equal(RolloutVerdict.Failed, after.Verdict);
        Assert.Equal("no progress for 30s (progressDeadline): 1/3 updated, 1 available, 3 old", after.Reason);
    }

    [Fact]
    public void Replicas_adopted_by_a_rollback_do_not_bring_their_old_restarts_with_them()
    {
        // A rollback to generation 1's spec as generation 3: its replicas count as generation 3.
        ReplicaStatus[] adopted = [R("web-aaaaa", 3, ReplicaPhase.Healthy, restarts: 4), R("web-bbbbb", 3, ReplicaPhase.Healthy, restarts: 2),
            R("web-ccccc", 3, ReplicaPhase.Healthy), R("web-ddddd", 2, ReplicaPhase.Exited, 3, reason: "health check failed")];
        var watch = RolloutWatch.Start(3, T0, adopted);

        var judged = RolloutMonitor.Observe(watch, Web(failureThreshold: 1), 3, adopted, T0.AddSeconds(1));
        var done = RolloutMonitor.Observe(judged.Watch, Web(failureThreshold: 1), 3, adopted[..3], T0.AddSeconds(2));

        Assert.Equal(RolloutVerdict.Progressing, judged.Verdict);
        Assert.Equal((0, 1), (judged.Watch.FailureCount, judged.Progress.Old));
        Assert.Equal(RolloutVerdict.Complete, done.Verdict);
    }

    [Fact]
    public void Replicas_being_stopped_neither_count_as_old_nor_as_updated()
    {
        var progress = RolloutMonitor.Assess(Web(), 2, 4,
            [R("web-aaaaa", 1, ReplicaPhase.Stopping), R("web-bbbbb", 2, ReplicaPhase.Stopping), R("web-ccccc", 2, ReplicaPhase.Healthy),
             R("web-ddddd", 2, ReplicaPhase.Healthy), R("web-eeeee", 2, ReplicaPhase.Healthy)]);

        Assert.Equal((RolloutOutcome.Complete, 3, 3, 0, 4L), (progress.Outcome, progress.Updated, progress.Available, progress.Old, progress.ServiceGeneration));
    }
}
