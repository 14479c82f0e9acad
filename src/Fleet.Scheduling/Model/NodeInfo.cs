using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Scheduling.Model;

/// <summary>NodeStatus is what the control plane currently believes about a node.</summary>
public enum NodeStatus
{
    /// <summary>Ready takes new replicas.</summary>
    Ready,

    /// <summary>Cordoned keeps its replicas but takes no new ones.</summary>
    Cordoned,

    /// <summary>Draining takes no new replicas and has its replicas moved off, surge-first.</summary>
    Draining,

    /// <summary>Unreachable is not answering: stateless replicas on it are replaced, stateful ones wait.</summary>
    Unreachable,

    /// <summary>Down is confirmed dead (fenced): every replica on it is lost, stateful ones too.</summary>
    Down,
}

/// <summary>
/// PortClaim is a published port taken on a node. <see cref="Owner"/> is the service whose
/// replicas publish it, or null for a host process Fleet does not manage. Replicas of the same
/// service share their published port (the routing mesh fronts them); anyone else conflicts.
/// </summary>
public readonly record struct PortClaim(int Port, PortProtocol Protocol, ServiceName? Owner)
{
    /// <summary>Describe says who holds the port, for an unschedulable reason.</summary>
    public string Describe() => Owner is { } owner ? $"in use by {owner}" : "in use by a host process";
}

/// <summary>
/// NodeInfo is one node as the scheduler sees it: a read-only snapshot. <see cref="UsedCpu"/> and
/// <see cref="UsedMemory"/> count every replica already running or starting on the node.
/// </summary>
public sealed record NodeInfo
{
    public required NodeName Name { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public required CpuQuantity AllocatableCpu { get; init; }

    public required ByteSize AllocatableMemory { get; init; }

    public CpuQuantity UsedCpu { get; init; }

    public ByteSize UsedMemory { get; init; }

    public NodeStatus Status { get; init; } = NodeStatus.Ready;

    /// <summary>PortsInUse lists the published ports already taken on this node.</summary>
    public IReadOnlyList<PortClaim> PortsInUse { get; init; } = [];

    /// <summary>FromSpec makes a ready, empty node from its cluster.yaml entry and its measured capacity.</summary>
    public static NodeInfo FromSpec(NodeSpec spec, CpuQuantity allocatableCpu, ByteSize allocatableMemory)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new NodeInfo
        {
            Name = spec.Name,
            Labels = spec.Labels,
            AllocatableCpu = allocatableCpu,
            AllocatableMemory = allocatableMemory,
        };
    }
}
