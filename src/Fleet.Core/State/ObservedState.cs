using System.Collections.Immutable;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>ReplicaPhase is where a replica is in its life cycle, as its node's agent reports it.</summary>
public enum ReplicaPhase
{
    Pending,
    Pulling,
    Starting,
    Running,
    Healthy,
    Stopping,
    Exited,
    Failed,
}

/// <summary>ReplicaHealth is the result of a replica's health checks; None when the service declares none.</summary>
public enum ReplicaHealth
{
    None,
    Unknown,
    Healthy,
    Unhealthy,
}

/// <summary>
/// ReplicaStatus is what an agent says about one replica. <see cref="Reason"/> explains Exited and
/// Failed (e.g. the registry's error for an image that does not exist).
/// </summary>
public sealed record ReplicaStatus(
    ReplicaId Id,
    NodeName Node,
    long Generation,
    ReplicaPhase Phase,
    ReplicaHealth Health,
    string? Ip,
    DateTimeOffset? StartedAt,
    int Restarts,
    string? Reason)
{
    public ServiceName Service => Id.Service;

    /// <summary>IsActive is true while the replica runs or is on its way to running.</summary>
    public bool IsActive => Phase is not (ReplicaPhase.Exited or ReplicaPhase.Failed or ReplicaPhase.Stopping);
}

/// <summary>
/// NodeReachability is what cluster membership says about a node, as the controller sees it:
/// Up (a member its failure detector hears), Unreachable (heartbeats missed: it may be dead or
/// cut off, its stateless replicas are replaced) or Down (downed by the split brain resolver or
/// removed: fenced, its stateful replicas are replaced too).
/// </summary>
public enum NodeReachability
{
    Up,
    Unreachable,
    Down,
}

/// <summary>
/// NodeStatus is what a node's agent last said about itself, its capacity included, plus the
/// controller's view of its <see cref="Reachability"/>.
/// </summary>
public sealed record NodeStatus(
    NodeName Name,
    string Address,
    IReadOnlySet<NodeRole> Roles,
    IReadOnlyDictionary<string, string> Labels,
    string Version,
    DateTimeOffset LastSeen)
{
    /// <summary>
    /// AllocatableCpu is the cpu replicas may request on this node in total; null when the agent
    /// did not say (the scheduler then does not limit cpu there).
    /// </summary>
    public CpuQuantity? AllocatableCpu { get; init; }

    /// <summary>AllocatableMemory is the memory replicas may request on this node in total; null when unknown.</summary>
    public ByteSize? AllocatableMemory { get; init; }

    /// <summary>
    /// Reachability is set by the controller from cluster membership (an agent always reports
    /// Up); `fleetctl get nodes` shows it as the node's status (Ready, Unreachable, Down).
    /// </summary>
    public NodeReachability Reachability { get; init; } = NodeReachability.Up;

    /// <summary>ReachabilitySince is when <see cref="Reachability"/> last changed, as the controller saw it; null while never changed.</summary>
    public DateTimeOffset? ReachabilitySince { get; init; }

    /// <summary>
    /// ContainerSubnet is the node's replica subnet in CIDR form (10.88.0.0/16); null when the
    /// node has no bridge network. Other nodes route it via <see cref="Address"/> (host gateway)
    /// so the mesh reaches replicas anywhere.
    /// </summary>
    public string? ContainerSubnet { get; init; }
}

/// <summary>
/// ObservedState is what the agents report: nodes and their replicas. It is soft state — never
/// persisted, rebuilt from the agents' reports after the controller starts or fails over.
/// </summary>
public sealed record ObservedState
{
    /// <summary>Empty is the state before any agent has reported.</summary>
    public static readonly ObservedState Empty = new();

    public ImmutableSortedDictionary<string, NodeStatus> Nodes { get; init; } =
        ImmutableSortedDictionary.Create<string, NodeStatus>(StringComparer.Ordinal);

    /// <summary>Replicas are keyed by replica id text.</summary>
    public ImmutableSortedDictionary<string, ReplicaStatus> Replicas { get; init; } =
        ImmutableSortedDictionary.Create<string, ReplicaStatus>(StringComparer.Ordinal);

    /// <summary>WithInventory replaces everything known about <paramref name="node"/> with a full report from its agent.</summary>
    public ObservedState WithInventory(NodeStatus node, IEnumerable<ReplicaStatus> replicas)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(replicas);
        var kept = Replicas.Where(r => r.Value.Node != node.Name);
        var reported = replicas.Select(r => KeyValuePair.Create(r.Id.ToString(), r with { Node = node.Name }));
        return this with
        {
            Nodes = Nodes.SetItem(node.Name.Value, node),
            Replicas = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, kept.Concat(reported)),
        };
    }

    /// <summary>
    /// WithReachability records what membership says about a known node, keeping its replicas
    /// (the planner decides what becomes of them); an unknown node is left alone.
    /// </summary>
    public ObservedState WithReachability(NodeName node, NodeReachability reachability, DateTimeOffset since)
    {
        if (!Nodes.TryGetValue(node.Value, out var known) || known.Reachability == reachability)
        {
            return this;
        }
        return this with { Nodes = Nodes.SetItem(node.Value, known with { Reachability = reachability, ReachabilitySince = since }) };
    }

    /// <summary>WithReplica records one replica's new status.</summary>
    public ObservedState WithReplica(ReplicaStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return this with { Replicas = Replicas.SetItem(status.Id.ToString(), status) };
    }

    /// <summary>WithoutReplica forgets a replica that its agent removed.</summary>
    public ObservedState WithoutReplica(ReplicaId id) => this with { Replicas = Replicas.Remove(id.ToString()) };

    /// <summary>WithoutNode forgets a node and its replicas (it left the cluster).</summary>
    public ObservedState WithoutNode(NodeName node) => this with
    {
        Nodes = Nodes.Remove(node.Value),
        Replicas = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, Replicas.Where(r => r.Value.Node != node)),
    };

    /// <summary>ReplicasOf returns the replicas of one service, by id.</summary>
    public IReadOnlyList<ReplicaStatus> ReplicasOf(ServiceName service) =>
        Replicas.Values.Where(r => r.Service == service).ToList();
}
