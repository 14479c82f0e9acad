using System.Globalization;
using Fleet.Scheduling.Model;

namespace Fleet.Scheduling.Reconcile;

/// <summary>RolloutPhase summarizes where a service's rollout stands.</summary>
public enum RolloutPhase
{
    /// <summary>Complete: every replica runs the current generation, the count is met and all are available.</summary>
    Complete,

    /// <summary>Progressing: replicas of an older generation remain, or new ones are not yet available.</summary>
    Progressing,

    /// <summary>Failing: at least one replica of the current generation has failed; the rollout is held by health gating.</summary>
    Failing,
}

/// <summary>
/// RolloutStatus is what `fleetctl rollout status` prints for a service, computed from the same
/// snapshot as a plan. It does not decide a rollback: with `update.autoRollback` the controller
/// counts <see cref="FailedNew"/> over evaluations and re-applies the previous generation.
/// </summary>
public sealed record RolloutStatus(long Generation, int Desired, int Updated, int UpdatedAvailable, int Old, int FailedNew, RolloutPhase Phase)
{
    /// <summary>Assess counts a service's replicas by generation and availability.</summary>
    public static RolloutStatus Assess(DesiredService service, IEnumerable<ObservedReplica> replicas)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(replicas);
        var spec = service.Spec;
        var own = replicas.Where(r => r.Service == service.Name && !r.Superseded).ToList();
        var current = own.Where(r => r.Generation >= service.Generation).ToList();
        var updated = current.Count(r => !r.IsTerminal && r.State != ReplicaState.Lost);
        var available = current.Count(r => r.State == ReplicaState.Healthy || (r.State == ReplicaState.Running && spec.Health is null));
        var failed = current.Count(r => r.State == ReplicaState.Failed);
        var old = own.Count(r => r.Generation < service.Generation && !r.IsTerminal);
        var phase = failed > 0 ? RolloutPhase.Failing
            : old == 0 && updated == spec.Replicas && available == spec.Replicas ? RolloutPhase.Complete
            : RolloutPhase.Progressing;
        return new RolloutStatus(service.Generation, spec.Replicas, updated, available, old, failed, phase);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"generation {Generation}: {Updated}/{Desired} updated, {UpdatedAvailable} available, {Old} old, {FailedNew} failed ({Phase.ToString().ToLowerInvariant()})");
}
