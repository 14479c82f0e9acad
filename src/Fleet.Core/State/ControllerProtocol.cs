using Fleet.Core.Ids;
using Fleet.Core.Quantities;

namespace Fleet.Core.State;

/// <summary>
/// ControllerProtocol holds the queries the cluster controller answers and their replies. The
/// commands are <see cref="ServiceCommands"/>, answered with a <see cref="CommandResult"/>.
/// </summary>
public static class ControllerProtocol
{
    /// <summary>GetServices asks for every declared service with its observed counts.</summary>
    public sealed record GetServices;

    /// <summary>GetService asks for one service: spec, replicas and recent events.</summary>
    public sealed record GetService(ServiceName Service);

    /// <summary>GetReplicas asks for the replicas of one service, or of all when <paramref name="Service"/> is null.</summary>
    public sealed record GetReplicas(ServiceName? Service);

    /// <summary>GetNodes asks for the nodes whose agents have reported.</summary>
    public sealed record GetNodes;

    /// <summary>GetEvents asks for the most recent <paramref name="Limit"/> events, oldest first.</summary>
    public sealed record GetEvents(int Limit);

    /// <summary>ServiceSummary is one row of `fleetctl get services`.</summary>
    public sealed record ServiceSummary(ServiceEntry Entry, int Running, int Healthy);

    /// <summary>ServicesResponse answers <see cref="GetServices"/>, by name.</summary>
    public sealed record ServicesResponse(IReadOnlyList<ServiceSummary> Services);

    /// <summary>ServiceResponse answers <see cref="GetService"/>; <paramref name="Service"/> is null when it does not exist.</summary>
    public sealed record ServiceResponse(ServiceSummary? Service, IReadOnlyList<ReplicaStatus> Replicas, IReadOnlyList<IServiceEvent> Events);

    /// <summary>ReplicasResponse answers <see cref="GetReplicas"/>, by id.</summary>
    public sealed record ReplicasResponse(IReadOnlyList<ReplicaStatus> Replicas);

    /// <summary>NodesResponse answers <see cref="GetNodes"/>, by name.</summary>
    public sealed record NodesResponse(IReadOnlyList<NodeStatus> Nodes);

    /// <summary>EventsResponse answers <see cref="GetEvents"/>: service and node events, oldest first.</summary>
    public sealed record EventsResponse(IReadOnlyList<IClusterEvent> Events);

    /// <summary>
    /// GetMeshView asks in one question for what a node's routing mesh follows: the declared
    /// services, every replica and every node. <paramref name="Known"/> is the version of the view
    /// the asker holds (0: none); while it is current the answer is the small
    /// <see cref="MeshViewUnchanged"/> — every node asks several times a second.
    /// </summary>
    public sealed record GetMeshView(long Known);

    /// <summary>MeshView answers <see cref="GetMeshView"/> when the view changed since <c>Known</c>.</summary>
    public sealed record MeshView(long Version, IReadOnlyList<ServiceSummary> Services, IReadOnlyList<ReplicaStatus> Replicas, IReadOnlyList<NodeStatus> Nodes);

    /// <summary>MeshViewUnchanged answers <see cref="GetMeshView"/> when the asker's view is still current.</summary>
    public sealed record MeshViewUnchanged(long Version);

    /// <summary>GetNodeSummaries asks for every known node with its scheduling, usage and drain progress (`fleetctl get nodes`).</summary>
    public sealed record GetNodeSummaries;

    /// <summary>
    /// NodeSummary is one row of `fleetctl get nodes`: what the agent reported, the declared
    /// scheduling, the cpu/memory requested by the replicas placed there (running or on their
    /// way), how many replicas it holds (<paramref name="Replicas"/>: every replica its agent
    /// reports, those being stopped and exited ones included), and, while it drains, why replicas cannot move (<paramref name="DrainBlockers"/>:
    /// "cannot move web-7k2xq: node2: memory needs 512Mi, 200Mi free").
    /// </summary>
    public sealed record NodeSummary(
        NodeStatus Node,
        NodeScheduling Scheduling,
        CpuQuantity UsedCpu,
        ByteSize UsedMemory,
        int Replicas,
        IReadOnlyList<string> DrainBlockers)
    {
        /// <summary>FirstSeen is when this controller first heard of the node (soft: reset by a fail-over).</summary>
        public DateTimeOffset? FirstSeen { get; init; }
    }

    /// <summary>NodeSummariesResponse answers <see cref="GetNodeSummaries"/>, by name.</summary>
    public sealed record NodeSummariesResponse(IReadOnlyList<NodeSummary> Nodes);
}
