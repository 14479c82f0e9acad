using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>
/// AgentProtocol holds the messages between the cluster controller and the node agents. Agents
/// push; the controller never needs an agent's address before the agent has spoken.
/// </summary>
public static class AgentProtocol
{
    /// <summary>
    /// NodeInventory is an agent's full report: itself and every replica it holds. Sent when the
    /// agent starts, periodically, and when asked — the controller rebuilds observed state from it.
    /// </summary>
    public sealed record NodeInventory(NodeStatus Node, IReadOnlyList<ReplicaStatus> Replicas);

    /// <summary>ReplicaStatusChanged reports one replica's new status.</summary>
    public sealed record ReplicaStatusChanged(ReplicaStatus Status);

    /// <summary>ReplicaRemoved reports that a replica is gone from its node (stopped and deleted).</summary>
    public sealed record ReplicaRemoved(ReplicaId Id, NodeName Node);

    /// <summary>StartReplica asks an agent to run a replica of <paramref name="Spec"/>.</summary>
    public sealed record StartReplica(ReplicaId Id, ServiceSpec Spec, long Generation)
    {
        /// <summary>MigrateFrom, when set, fills the replica's writable layer and volumes from a replica on another node first (<see cref="MigrationProtocol"/>).</summary>
        public MigrationProtocol.MigrationSource? MigrateFrom { get; init; }
    }

    /// <summary>StopReplica asks an agent to stop and remove a replica.</summary>
    public sealed record StopReplica(ReplicaId Id, string Reason);

    /// <summary>RequestInventory asks an agent for a <see cref="NodeInventory"/> now (after a controller fail-over).</summary>
    public sealed record RequestInventory;
}
