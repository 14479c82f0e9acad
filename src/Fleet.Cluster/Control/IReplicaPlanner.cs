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

/// <summary>
/// MigrateOn moves replica <paramref name="Id"/> off <paramref name="From"/> (a draining node) to
/// <paramref name="To"/> as a new replica <paramref name="Replacement"/>. Stateless: start the
/// replacement, wait until it is available, then stop the old one (make-before-break). Stateful:
/// stop the old one first and start the replacement only once it is gone, so it never runs twice.
/// </summary>
public sealed record MigrateOn(ReplicaId Id, NodeName From, NodeName To, ReplicaId Replacement, ServiceSpec Spec, long Generation, bool Stateful, string Reason) : PlanAction;

/// <summary>
/// MigrationInFlight is a move the controller is carrying out: the scheduler sees the old replica
/// with its target (so it is not moved twice, and its service is not topped up), never the
/// replacement, whose resources still count on <paramref name="To"/>.
/// </summary>
public sealed record MigrationInFlight(NodeName To, ReplicaId Replacement, bool Stateful);

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
    DateTimeOffset Now)
{
    /// <summary>Migrations are the moves in flight, by the id of the replica being moved.</summary>
    public IReadOnlyDictionary<ReplicaId, MigrationInFlight> Migrations { get; init; } = new Dictionary<ReplicaId, MigrationInFlight>();

    /// <summary>
    /// FenceMargin: a node Down for less than this still counts as Unreachable, so its stateful
    /// replicas wait while the node fences itself (see <see cref="ControllerSettings.FenceMargin"/>).
    /// </summary>
    public TimeSpan FenceMargin { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Unaccounted names the worker members whose replicas the controller does not know: it
    /// started (or took over) while they were cut off, or they have not answered yet, and they
    /// are not down for the fence margin. Any of them may still run a stateful replica, so no
    /// stateful replica is started while this is not empty.
    /// </summary>
    public IReadOnlyList<string> Unaccounted { get; init; } = [];
}

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
