using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Scheduling.Plans;

namespace Fleet.Cluster.Control;

/// <summary>PlanAction is one step the controller asks an agent to take.</summary>
public abstract record PlanAction;

/// <summary>
/// StartOn starts a new replica of <paramref name="Spec"/> on <paramref name="Node"/>.
/// <paramref name="Replaces"/> names the lost or failed replica it stands in for: the controller
/// marks that one superseded, so it is stopped should it show up again.
/// </summary>
public sealed record StartOn(ReplicaId Id, NodeName Node, ServiceSpec Spec, long Generation, ReplicaId? Replaces = null) : PlanAction;

/// <summary>StopOn stops a replica where it runs.</summary>
public sealed record StopOn(ReplicaId Id, NodeName Node, string Reason) : PlanAction;

/// <summary>PendingStart is a replica the controller asked an agent to start and has not heard of since.</summary>
public sealed record PendingStart(NodeName Node, long Generation);

/// <summary>
/// PlanInput is everything one evaluation reads: the desired services, what the agents report,
/// the starts asked for and not yet reported, the worker nodes with a live agent, the replicas
/// already replaced, and the time.
/// </summary>
public sealed record PlanInput(
    DesiredState Desired,
    ObservedState Observed,
    IReadOnlyDictionary<ReplicaId, PendingStart> Pending,
    IReadOnlyCollection<NodeName> Workers,
    IReadOnlySet<ReplicaId> Superseded,
    DateTimeOffset Now);

/// <summary>
/// ReplicaPlan is what the controller carries out (<see cref="Actions"/>: stops first, then
/// starts), what found no node (<see cref="Unschedulable"/>, each node's reason) and what is
/// deliberately left for later (<see cref="Deferred"/>, with the reason).
/// </summary>
public sealed record ReplicaPlan(IReadOnlyList<PlanAction> Actions, IReadOnlyList<Unschedulable> Unschedulable, IReadOnlyList<Deferred> Deferred)
{
    /// <summary>Empty is a plan with nothing in it.</summary>
    public static readonly ReplicaPlan Empty = new([], [], []);
}

/// <summary>
/// IReplicaPlanner turns desired vs observed state into actions. It must be pure and
/// deterministic for the same input and random source (the controller passes its own).
/// </summary>
public interface IReplicaPlanner
{
    ReplicaPlan Plan(PlanInput input, Random random);
}
