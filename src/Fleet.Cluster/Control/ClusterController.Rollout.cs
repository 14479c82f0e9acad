using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Scheduling.Reconcile;

namespace Fleet.Cluster.Control;

/// <summary>
/// The rollout side of the controller: it watches each service whose latest revision is still
/// rolling out (<see cref="RolloutMonitor"/>, after every plan), journals the rollout's end —
/// complete, or failed with the reason — and, with `update.autoRollback`, the rollback to the
/// previous good revision's template (<see cref="RolloutRollback"/>) in the same write. The
/// reconciler does the rolling itself: new replicas surge within maxSurge, an old one stops only
/// once a new one is available and never below replicas − maxUnavailable, so while a rollout
/// fails the old replicas keep serving, and after a rollback those still running the restored
/// template are kept. The watches are soft state: after a fail-over a rollout still progressing
/// is watched anew, its progress deadline counted from then.
/// </summary>
public sealed partial class ClusterController
{
    private readonly Dictionary<ServiceName, RolloutWatch> _rollouts = [];

    /// <summary>ReceiveRollout registers the rollout messages: `fleetctl rollout undo`, status and history.</summary>
    private void ReceiveRollout()
    {
        Command<RolloutProtocol.Undo>(HandleUndo);
        Command<RolloutProtocol.GetRollout>(q => Sender.Tell(RolloutOf(q.Service)));
    }

    private void HandleUndo(RolloutProtocol.Undo undo) => Commit(RolloutRollback.Undo(_desired, undo));

    /// <summary>
    /// WatchRollouts judges every rollout in progress against what the agents report now and
    /// journals those that ended. A service whose latest revision's rollout already ended is not
    /// watched (a replica failing later is the restart policy's business, not a rollout's).
    /// </summary>
    private void WatchRollouts(DateTimeOffset now)
    {
        foreach (var gone in _rollouts.Keys.Where(s => _desired.Find(s) is null).ToList())
        {
            _rollouts.Remove(gone);
        }
        var events = new List<IServiceEvent>();
        foreach (var entry in _desired.Services.Values)
        {
            var latest = ServiceRevisions.Of(_desired, entry.Name)[^1];
            if (latest.Outcome != RolloutOutcome.Progressing)
            {
                _rollouts.Remove(entry.Name);
                continue;
            }
            var replicas = EffectiveReplicasOf(entry.Name);
            if (!_rollouts.TryGetValue(entry.Name, out var watch) || watch.Generation != latest.Generation)
            {
                watch = RolloutWatch.Start(latest.Generation, now, replicas);
            }
            var judgement = RolloutMonitor.Observe(watch, entry.Spec, entry.Generation, replicas, now);
            _rollouts[entry.Name] = judgement.Watch;
            switch (judgement.Verdict)
            {
                case RolloutVerdict.Complete:
                    events.Add(new RolloutEvents.ServiceRolloutComplete(entry.Name, latest.Generation, now));
                    _rollouts.Remove(entry.Name);
                    break;
                case RolloutVerdict.Failed:
                    events.AddRange(RolloutRollback.OnFailure(_desired, entry.Name, latest.Generation, judgement.Reason!, now));
                    _rollouts.Remove(entry.Name);
                    break;
            }
        }
        if (events.Count == 0)
        {
            return;
        }
        foreach (var e in events)
        {
            if (e is RolloutEvents.ServiceRolloutComplete)
            {
                _log.Info("{0}", ServiceEvents.Describe(e));
            }
            else
            {
                _log.Warning("{0}", ServiceEvents.Describe(e));
            }
        }
        PersistEvents(events, ReconcileNow);
    }

    /// <summary>RolloutOf answers `fleetctl rollout status|history`: the latest revision's progress (its journaled outcome once ended) and the history.</summary>
    private RolloutProtocol.RolloutResponse RolloutOf(ServiceName service)
    {
        if (_desired.Find(service) is not { } entry)
        {
            return new RolloutProtocol.RolloutResponse(service, null, []);
        }
        var revisions = ServiceRevisions.Of(_desired, service);
        var latest = revisions[^1];
        var failures = _rollouts.TryGetValue(service, out var watch) && watch.Generation == latest.Generation ? watch.FailureCount : 0;
        var progress = RolloutMonitor.Assess(entry.Spec, latest.Generation, entry.Generation, EffectiveReplicasOf(service), failures);
        if (latest.Outcome != RolloutOutcome.Progressing)
        {
            progress = progress with { Outcome = latest.Outcome, Reason = latest.Reason };
        }
        return new RolloutProtocol.RolloutResponse(service, progress, revisions);
    }

    /// <summary>EffectiveReplicasOf lists a service's replicas at the generation they count as (a replica running the current template after a rollback is current).</summary>
    private List<ReplicaStatus> EffectiveReplicasOf(ServiceName service) =>
        _observed.ReplicasOf(service)
            .Select(r => r with { Generation = ServiceRevisions.EffectiveGeneration(_desired, service, r.Generation) })
            .ToList();
}
