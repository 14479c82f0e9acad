using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>IServiceEvent is a fact about the desired state: what the journal holds, replayed by <see cref="DesiredState.Apply"/>.</summary>
public interface IServiceEvent : IClusterEvent
{
    /// <summary>Service is the service the event is about.</summary>
    ServiceName Service { get; }

    /// <summary>Generation is the service's spec version after the event.</summary>
    long Generation { get; }
}

/// <summary>ServiceEvents are the persisted events of the desired state.</summary>
public static class ServiceEvents
{
    /// <summary>ServiceApplied records a new or changed spec at <paramref name="Generation"/> (1 for a new service).</summary>
    public sealed record ServiceApplied(ServiceSpec Spec, long Generation, DateTimeOffset At) : IServiceEvent
    {
        public ServiceName Service => Spec.Name;
    }

    /// <summary>ServiceScaled records a new desired replica count.</summary>
    public sealed record ServiceScaled(ServiceName Service, int Replicas, int PreviousReplicas, long Generation, DateTimeOffset At) : IServiceEvent;

    /// <summary>ServiceDeleted records that the service is no longer desired; <paramref name="Generation"/> is its last one.</summary>
    public sealed record ServiceDeleted(ServiceName Service, long Generation, DateTimeOffset At) : IServiceEvent;

    /// <summary>
    /// ServiceUnschedulable records that <paramref name="Count"/> replicas of the service found no
    /// node, with each node's reason ("node1: memory needs 512Mi, 200Mi free"). The controller
    /// records it when the reasons change, not on every evaluation; it changes no desired state.
    /// </summary>
    public sealed record ServiceUnschedulable(ServiceName Service, int Count, IReadOnlyList<string> Reasons, long Generation, DateTimeOffset At) : IServiceEvent;

    /// <summary>
    /// ServiceAutoscaled records a replica count the autoscaler chose, with its reason ("web 3 → 7:
    /// cpu 140 % of target 60 %"); it changes the desired count like <see cref="ServiceScaled"/>.
    /// </summary>
    public sealed record ServiceAutoscaled(ServiceName Service, int Replicas, int PreviousReplicas, string Reason, long Generation, DateTimeOffset At) : IServiceEvent;

    /// <summary>Describe is the one-line text of an event, as `fleetctl events` prints it.</summary>
    public static string Describe(IServiceEvent e) => e switch
    {
        ServiceApplied { Generation: 1 } a => $"service {a.Service} created: {a.Spec.Image}, {Replicas(a.Spec.Replicas)}",
        ServiceApplied a => $"service {a.Service} updated to generation {a.Generation}: {a.Spec.Image}, {Replicas(a.Spec.Replicas)}",
        ServiceScaled s => $"service {s.Service} scaled from {s.PreviousReplicas} to {Replicas(s.Replicas)}",
        ServiceDeleted d => $"service {d.Service} deleted",
        ServiceAutoscaled a => $"autoscaler: {a.Reason}",
        ServiceUnschedulable u => $"{u.Service}: {Replicas(u.Count)} unschedulable: {(u.Reasons.Count == 0 ? "no worker nodes" : string.Join("; ", u.Reasons))}",
        RebalanceEvents.ReplicaRebalanced r => RebalanceEvents.Describe(r),
        IRolloutEvent r => RolloutEvents.Describe(r),
        _ => $"service {e.Service}: {e.GetType().Name}",
    };

    /// <summary>Kind is the short name of an event, stable for scripts (`applied`, `scaled`, `deleted`, `unschedulable`, `autoscaled`).</summary>
    public static string Kind(IServiceEvent e) => e switch
    {
        ServiceApplied => "applied",
        ServiceScaled => "scaled",
        ServiceDeleted => "deleted",
        ServiceUnschedulable => "unschedulable",
        RebalanceEvents.ReplicaRebalanced => "rebalanced",
        IRolloutEvent r => RolloutEvents.Kind(r),
        ServiceAutoscaled => "autoscaled",
        _ => "unknown",
    };

    private static string Replicas(int count) => count == 1 ? "1 replica" : $"{count} replicas";
}
