using System.Collections.Immutable;
using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Scheduling.Reconcile;

/// <summary>
/// RolloutWatch is what the controller remembers of one rollout between evaluations (soft
/// state: a controller that fails over starts watching again, the progress deadline anew).
/// </summary>
public sealed record RolloutWatch(long Generation, DateTimeOffset StartedAt)
{
    /// <summary>LastProgressAt is when a new replica last became available or an old one last went away.</summary>
    public DateTimeOffset LastProgressAt { get; init; } = StartedAt;

    /// <summary>MostAvailable is the most available replicas of the new template seen so far.</summary>
    public int MostAvailable { get; init; }

    /// <summary>FewestOld is the fewest replicas of older templates seen so far.</summary>
    public int FewestOld { get; init; } = int.MaxValue;

    /// <summary>Baseline holds the failures replicas already had when the watch started (replicas a rollback adopts), not counted.</summary>
    public ImmutableDictionary<ReplicaId, int> Baseline { get; init; } = ImmutableDictionary<ReplicaId, int>.Empty;

    /// <summary>Failures holds, per replica of the new template, how often it failed during this rollout and its last reason.</summary>
    public ImmutableDictionary<ReplicaId, (int Count, string Reason)> Failures { get; init; } = ImmutableDictionary<ReplicaId, (int Count, string Reason)>.Empty;

    /// <summary>FailureCount is the failures of all the rollout's replicas, those gone since included.</summary>
    public int FailureCount => Failures.Values.Sum(f => f.Count);

    /// <summary>Start begins watching revision <paramref name="generation"/>; <paramref name="replicas"/> are the service's replicas now (effective generations).</summary>
    public static RolloutWatch Start(long generation, DateTimeOffset now, IEnumerable<ReplicaStatus> replicas)
    {
        ArgumentNullException.ThrowIfNull(replicas);
        return new RolloutWatch(generation, now)
        {
            Baseline = replicas.Where(r => r.Generation >= generation).ToImmutableDictionary(r => r.Id, RolloutMonitor.FailuresOf),
        };
    }
}

/// <summary>RolloutVerdict is what one evaluation of a rollout concludes.</summary>
public enum RolloutVerdict
{
    Progressing,
    Complete,
    Failed,
}

/// <summary>RolloutJudgement is the watch to keep, the progress to show and the verdict (with its reason when failed).</summary>
public sealed record RolloutJudgement(RolloutWatch Watch, RolloutProtocol.RolloutProgress Progress, RolloutVerdict Verdict, string? Reason);

/// <summary>
/// RolloutMonitor decides, purely, whether a rollout is complete or has failed. Its semantics
/// follow Kubernetes' Deployment conditions and Swarm's update failure action:
/// <list type="bullet">
/// <item>Complete: no replica of an older template is left, and exactly `replicas` replicas run the
/// new one, all available (healthy, or running when the service declares no health check).</item>
/// <item>Failed at once: a new replica failed for good (Failed: the node will not restart it,
/// e.g. its image cannot be pulled).</item>
/// <item>Failed by count: the new replicas failed `update.failureThreshold` times in all (default
/// 3) — a health check that got a replica killed, a crash, an exit — counted from the replicas'
/// restart counts, so failures of replicas replaced since still count.</item>
/// <item>Failed by time: no progress for `update.progressDeadline` (default 2m), where progress is
/// a new replica becoming available or an old one going away (Kubernetes' progressDeadlineSeconds).</item>
/// </list>
/// Replicas come in with their effective generation
/// (<see cref="ServiceRevisions.EffectiveGeneration"/>): those at or above the watched generation
/// run the new template. Replicas being stopped are left out.
/// </summary>
public static class RolloutMonitor
{
    /// <summary>FailuresOf counts how often a replica failed: its restarts, plus one while it is down or unhealthy (before it restarts).</summary>
    public static int FailuresOf(ReplicaStatus replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        var down = replica.Phase is ReplicaPhase.Exited or ReplicaPhase.Failed || replica.Health == ReplicaHealth.Unhealthy;
        return replica.Restarts + (down ? 1 : 0);
    }

    /// <summary>IsAvailable is what the rolling update and the routing mesh wait for.</summary>
    public static bool IsAvailable(ReplicaStatus replica, ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(replica);
        ArgumentNullException.ThrowIfNull(spec);
        return replica.Phase == ReplicaPhase.Healthy
               || (replica.Phase == ReplicaPhase.Running && (replica.Health == ReplicaHealth.Healthy || (spec.Health is null && replica.Health != ReplicaHealth.Unhealthy)));
    }

    /// <summary>Assess counts a service's replicas against revision <paramref name="generation"/>; the outcome is Progressing or Complete.</summary>
    public static RolloutProtocol.RolloutProgress Assess(ServiceSpec spec, long generation, long serviceGeneration, IEnumerable<ReplicaStatus> replicas, int failures = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(replicas);
        var live = replicas.Where(r => r.Phase != ReplicaPhase.Stopping).ToList();
        var current = live.Where(r => r.Generation >= generation).ToList();
        var updated = current.Count(r => r.Phase != ReplicaPhase.Failed);
        var available = current.Count(r => IsAvailable(r, spec));
        var old = live.Count(r => r.Generation < generation);
        var desired = Math.Max(0, spec.Replicas);
        var complete = old == 0 && updated == desired && available == desired;
        return new RolloutProtocol.RolloutProgress(generation, serviceGeneration, complete ? RolloutOutcome.Complete : RolloutOutcome.Progressing,
            desired, updated, available, old, failures, null);
    }

    /// <summary>Observe folds the replicas seen at <paramref name="now"/> into the watch and judges the rollout.</summary>
    public static RolloutJudgement Observe(RolloutWatch watch, ServiceSpec spec, long serviceGeneration, IReadOnlyList<ReplicaStatus> replicas, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(watch);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(replicas);
        var generation = watch.Generation;
        var failures = watch.Failures;
        foreach (var replica in replicas.Where(r => r.Generation >= generation && r.Phase != ReplicaPhase.Stopping))
        {
            var count = Math.Max(0, FailuresOf(replica) - watch.Baseline.GetValueOrDefault(replica.Id));
            var known = failures.GetValueOrDefault(replica.Id);
            if (count > known.Count)
            {
                failures = failures.SetItem(replica.Id, (count, replica.Reason ?? "failed"));
            }
        }
        var next = watch with { Failures = failures };
        var progress = Assess(spec, generation, serviceGeneration, replicas, next.FailureCount);
        if (progress.Available > next.MostAvailable || progress.Old < next.FewestOld)
        {
            next = next with
            {
                LastProgressAt = now,
                MostAvailable = Math.Max(progress.Available, next.MostAvailable),
                FewestOld = Math.Min(progress.Old, next.FewestOld),
            };
        }

        if (progress.Outcome == RolloutOutcome.Complete)
        {
            return new RolloutJudgement(next, progress, RolloutVerdict.Complete, null);
        }
        var policy = spec.Update;
        var reason = replicas.FirstOrDefault(r => r.Generation >= generation && r.Phase == ReplicaPhase.Failed) is { } failed
            ? $"replica {failed.Id} failed: {failed.Reason ?? "no reason given"}"
            : next.FailureCount >= Math.Max(1, policy.FailureThreshold)
                ? $"new replicas failed {Num(next.FailureCount)} times (failureThreshold {Num(policy.FailureThreshold)}); last: {Last(next, replicas)}"
                : now - next.LastProgressAt > policy.ProgressDeadline
                    ? $"no progress for {DurationText.Format(policy.ProgressDeadline)} (progressDeadline): {Num(progress.Updated)}/{Num(progress.Desired)} updated, {Num(progress.Available)} available, {Num(progress.Old)} old"
                    : null;
        return reason is null
            ? new RolloutJudgement(next, progress, RolloutVerdict.Progressing, null)
            : new RolloutJudgement(next, progress with { Outcome = RolloutOutcome.Failed, Reason = reason }, RolloutVerdict.Failed, reason);
    }

    // A replica of the rollout that is down now tells the freshest reason; else the one that failed most.
    private static string Last(RolloutWatch watch, IReadOnlyList<ReplicaStatus> replicas)
    {
        if (replicas.FirstOrDefault(r => r.Generation >= watch.Generation && watch.Failures.ContainsKey(r.Id) && FailuresOf(r) > r.Restarts) is { } down)
        {
            return $"{down.Id}: {down.Reason ?? watch.Failures[down.Id].Reason}";
        }
        var most = watch.Failures.OrderByDescending(f => f.Value.Count).ThenBy(f => f.Key.ToString(), StringComparer.Ordinal).First();
        return $"{most.Key}: {most.Value.Reason}";
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
