using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Control;

/// <summary>PlanAction is one step the controller asks an agent to take.</summary>
public abstract record PlanAction;

/// <summary>StartOn starts a new replica of <paramref name="Spec"/> on <paramref name="Node"/>.</summary>
public sealed record StartOn(ReplicaId Id, NodeName Node, ServiceSpec Spec, long Generation) : PlanAction;

/// <summary>StopOn stops a replica where it runs.</summary>
public sealed record StopOn(ReplicaId Id, NodeName Node, string Reason) : PlanAction;

/// <summary>
/// IReplicaPlanner turns desired vs observed state into actions. It must be pure and
/// deterministic for the same inputs (the random source is passed in). The pending map
/// are replicas already asked for and not yet reported by their agent.
/// </summary>
public interface IReplicaPlanner
{
    IReadOnlyList<PlanAction> Plan(
        DesiredState desired,
        ObservedState observed,
        IReadOnlyDictionary<ReplicaId, NodeName> pending,
        IReadOnlyCollection<NodeName> workers,
        Random random);
}
