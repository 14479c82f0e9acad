using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Scheduling.Reconcile;

/// <summary>
/// RolloutRollback decides, purely, what a rollback goes back to and the events it journals.
/// A rollback applies an earlier revision's template (containers: image, command, env, health…)
/// at a new generation, keeping the current replica count and update and autoscale policies, as
/// `kubectl rollout undo` restores a pod template and nothing else. Replicas still running that
/// template are kept (<see cref="ServiceRevisions.EffectiveGeneration"/>), so rolling back a
/// rollout that never got far stops only its new replicas.
/// </summary>
public static class RolloutRollback
{
    /// <summary>
    /// Target is the revision to go back to from the current spec: the latest earlier revision
    /// with another template; an automatic rollback also skips revisions whose own rollout failed.
    /// Null when there is none.
    /// </summary>
    public static ServiceRevision? Target(IReadOnlyList<ServiceRevision> revisions, ServiceEntry current, bool automatic)
    {
        ArgumentNullException.ThrowIfNull(revisions);
        ArgumentNullException.ThrowIfNull(current);
        return revisions
            .Where(r => r.Generation < current.RolloutGeneration
                        && !ServiceRevisions.SameTemplate(r.Spec, current.Spec)
                        && !(automatic && r.Outcome == RolloutOutcome.Failed))
            .MaxBy(r => r.Generation);
    }

    /// <summary>
    /// OnFailure returns the events of a failed rollout of <paramref name="generation"/>: the
    /// failure, then, with `update.autoRollback` and something to go back to, the rollback.
    /// </summary>
    public static IReadOnlyList<IServiceEvent> OnFailure(DesiredState state, ServiceName service, long generation, string reason, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(reason);
        if (state.Find(service) is not { } entry)
        {
            return [];
        }
        var failed = new RolloutEvents.ServiceRolloutFailed(service, generation, reason, at);
        if (!entry.Spec.Update.AutoRollback || entry.RolloutGeneration != generation)
        {
            return [failed];
        }
        var revisions = ServiceRevisions.Of(state, service).Select(r => r.Generation == generation ? r with { Outcome = RolloutOutcome.Failed } : r).ToList();
        if (Target(revisions, entry, automatic: true) is not { } target)
        {
            return [new RolloutEvents.ServiceRolloutFailed(service, generation, reason + "; no earlier revision to roll back to", at)];
        }
        return [failed, RolledBack(entry, target, $"automatic: the rollout of generation {Num(generation)} failed", at)];
    }

    /// <summary>Undo judges `fleetctl rollout undo` (<paramref name="undo"/>) against the state; it changes nothing.</summary>
    public static (CommandResult Result, IReadOnlyList<IServiceEvent> Events) Undo(DesiredState state, RolloutProtocol.Undo undo)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(undo);
        var service = undo.Service;
        if (state.Find(service) is not { } entry)
        {
            return (new CommandResult(CommandOutcome.NotFound, service, 0, $"service {service} not found"), []);
        }
        var revisions = ServiceRevisions.Of(state, service);
        ServiceRevision? target;
        if (undo.ToGeneration is { } wanted)
        {
            target = revisions.LastOrDefault(r => r.Generation == wanted);
            if (target is null)
            {
                var kept = string.Join(", ", revisions.Select(r => Num(r.Generation)));
                return (new CommandResult(CommandOutcome.NotFound, service, entry.Generation,
                    $"generation {Num(wanted)} is not in the revision history of service {service} (kept: {kept})"), []);
            }
            if (ServiceRevisions.SameTemplate(target.Spec, entry.Spec))
            {
                return (new CommandResult(CommandOutcome.Unchanged, service, entry.Generation,
                    $"service {service} already runs the spec of generation {Num(wanted)}"), []);
            }
        }
        else
        {
            target = Target(revisions, entry, automatic: false);
            if (target is null)
            {
                return (new CommandResult(CommandOutcome.Invalid, service, entry.Generation,
                    $"service {service} has no earlier revision with another spec to roll back to"), []);
            }
        }
        var back = RolledBack(entry, target, "fleetctl rollout undo", undo.At);
        return (new CommandResult(CommandOutcome.Updated, service, back.Generation,
            $"service {service} rolled back to the spec of generation {Num(target.Generation)} (as generation {Num(back.Generation)})"), [back]);
    }

    private static RolloutEvents.ServiceRolledBack RolledBack(ServiceEntry entry, ServiceRevision target, string reason, DateTimeOffset at) =>
        new(ServiceRevisions.WithTemplateOf(entry.Spec, target.Spec), entry.Generation + 1, entry.RolloutGeneration, target.Generation, reason, at);

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}
