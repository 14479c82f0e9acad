using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Scheduling.Model;

namespace Fleet.Scheduling;

/// <summary>
/// WorkingCluster is the scheduler's scratch copy of the nodes for one evaluation: the input
/// snapshot is never changed; what this plan reserves and frees is tracked here so later
/// decisions in the same plan see earlier ones.
/// </summary>
internal sealed class WorkingCluster
{
    private readonly Dictionary<NodeName, int> _index;

    public WorkingCluster(IReadOnlyList<NodeInfo> nodes, SchedulerOptions options)
    {
        // Nodes are ordered by name so that a plan never depends on the caller's list order.
        var ordered = nodes.OrderBy(n => n.Name.Value, StringComparer.Ordinal).ToArray();
        Slots = new NodeSlot[ordered.Length];
        _index = new Dictionary<NodeName, int>(ordered.Length);
        var tieKeys = TieKeys(ordered.Length, options);
        for (var i = 0; i < ordered.Length; i++)
        {
            Slots[i] = new NodeSlot(ordered[i], tieKeys[i]);
            _index[ordered[i].Name] = i;
        }
    }

    public NodeSlot[] Slots { get; }

    /// <summary>IndexOf returns the slot index of a node, or -1 when the node is not known.</summary>
    public int IndexOf(NodeName name) => _index.TryGetValue(name, out var i) ? i : -1;

    /// <summary>StatusOf returns a node's status, or null when the node is not known.</summary>
    public NodeStatus? StatusOf(NodeName name) => _index.TryGetValue(name, out var i) ? Slots[i].Info.Status : null;

    private static int[] TieKeys(int count, SchedulerOptions options)
    {
        var keys = new int[count];
        for (var i = 0; i < count; i++)
        {
            keys[i] = i;
        }
        if (options.TieBreak == TieBreak.Random)
        {
            // A fixed derivation of the seed: the same seed gives the same permutation every plan.
            new Random(unchecked(options.Seed * 31 + 7)).Shuffle(keys);
        }
        return keys;
    }
}

/// <summary>NodeSlot is one node's mutable accounting within an evaluation.</summary>
internal sealed class NodeSlot
{
    private readonly Dictionary<(int Port, PortProtocol Protocol), ServiceName?> _ports = [];

    public NodeSlot(NodeInfo info, int tieKey)
    {
        Info = info;
        TieKey = tieKey;
        AllocatableCpu = info.AllocatableCpu.Millicores;
        AllocatableMemory = info.AllocatableMemory.Bytes;
        UsedCpu = info.UsedCpu.Millicores;
        UsedMemory = info.UsedMemory.Bytes;
        foreach (var claim in info.PortsInUse)
        {
            _ports.TryAdd((claim.Port, claim.Protocol), claim.Owner);
        }
    }

    public NodeInfo Info { get; }

    public int TieKey { get; }

    public long AllocatableCpu { get; }

    public long AllocatableMemory { get; }

    public long UsedCpu { get; private set; }

    public long UsedMemory { get; private set; }

    public long FreeCpu => AllocatableCpu - UsedCpu;

    public long FreeMemory => AllocatableMemory - UsedMemory;

    /// <summary>Utilization is the mean of the cpu and memory fractions in use after adding a request.</summary>
    public double UtilizationWith(long cpu, long memory)
    {
        var cpuFraction = AllocatableCpu > 0 ? (double)(UsedCpu + cpu) / AllocatableCpu : 0;
        var memoryFraction = AllocatableMemory > 0 ? (double)(UsedMemory + memory) / AllocatableMemory : 0;
        return (cpuFraction + memoryFraction) / 2;
    }

    public void Reserve(long cpu, long memory)
    {
        UsedCpu += cpu;
        UsedMemory += memory;
    }

    public void Release(long cpu, long memory)
    {
        UsedCpu = Math.Max(0, UsedCpu - cpu);
        UsedMemory = Math.Max(0, UsedMemory - memory);
    }

    /// <summary>PortConflict returns the claim that keeps <paramref name="service"/> from publishing the port, or null.</summary>
    public PortClaim? PortConflict(ServiceName service, int port, PortProtocol protocol)
    {
        if (_ports.TryGetValue((port, protocol), out var owner) && owner != service)
        {
            return new PortClaim(port, protocol, owner);
        }
        return null;
    }

    public void ClaimPort(ServiceName service, int port, PortProtocol protocol) => _ports.TryAdd((port, protocol), service);
}
