using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>IRolloutEvent is a fact about a service's rollout: it finished, it failed, or the service was rolled back.</summary>
public interface IRolloutEvent : IServiceEvent;

/// <summary>
/// RolloutEvents are the journaled events of rollouts. Complete and failed change no desired
/// state but the outcome of the revision in <see cref="DesiredState.Revisions"/>; a rollback
/// changes the spec as an apply does, to the template of an earlier revision, at a new generation.
/// </summary>
public static class RolloutEvents
{
    /// <summary>ServiceRolloutComplete records that every replica runs the spec of <paramref name="Generation"/> and is available.</summary>
    public sealed record ServiceRolloutComplete(ServiceName Service, long Generation, DateTimeOffset At) : IRolloutEvent;

    /// <summary>
    /// ServiceRolloutFailed records that the rollout of <paramref name="Generation"/> failed
    /// (new replicas failing, or no progress within the progress deadline) and why. The
    /// reconciler keeps holding it (old replicas keep serving) until a rollback or a new apply.
    /// </summary>
    public sealed record ServiceRolloutFailed(ServiceName Service, long Generation, string Reason, DateTimeOffset At) : IRolloutEvent;

    /// <summary>
    /// ServiceRolledBack records a new spec at <paramref name="Generation"/> that is the template of
    /// generation <paramref name="ToGeneration"/> (replica count, update and autoscale policies
    /// kept from the current spec), leaving <paramref name="FromGeneration"/>; <paramref name="Reason"/>
    /// says whether the controller did it (the failure) or a user (`fleetctl rollout undo`).
    /// Replicas still running generation <paramref name="ToGeneration"/>'s template are kept.
    /// </summary>
    public sealed record ServiceRolledBack(ServiceSpec Spec, long Generation, long FromGeneration, long ToGeneration, string Reason, DateTimeOffset At) : IRolloutEvent
    {
        public ServiceName Service => Spec.Name;
    }

    /// <summary>Describe is the one-line text of a rollout event, as `fleetctl events` prints it.</summary>
    public static string Describe(IRolloutEvent e) => e switch
    {
        ServiceRolloutComplete c => $"service {c.Service}: rollout of generation {c.Generation} complete",
        ServiceRolloutFailed f => $"service {f.Service}: rollout of generation {f.Generation} failed: {f.Reason}",
        ServiceRolledBack b => $"service {b.Service} rolled back from generation {b.FromGeneration} to the spec of generation {b.ToGeneration} (as generation {b.Generation}): {b.Reason}",
        _ => $"service {e.Service}: {e.GetType().Name}",
    };

    /// <summary>Kind is the short name of a rollout event, stable for scripts (`rolled-out`, `rollout-failed`, `rolled-back`).</summary>
    public static string Kind(IRolloutEvent e) => e switch
    {
        ServiceRolloutComplete => "rolled-out",
        ServiceRolloutFailed => "rollout-failed",
        ServiceRolledBack => "rolled-back",
        _ => "unknown",
    };
}
