using System.Globalization;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Model;

namespace Fleet.Scheduling.Feasibility;

/// <summary>
/// ServiceFit answers "can this node take one more replica of this service?" — fast for the
/// placement loop — and, when no node can, explains why for every node. Status, label
/// constraints and ports are checked once per service; cpu and memory on every call, since
/// placements in the same plan use them up.
/// </summary>
internal sealed class ServiceFit
{
    private readonly bool[] _staticFit;
    private readonly (int Port, PortProtocol Protocol)[] _ports;

    public ServiceFit(ServiceSpec spec, WorkingCluster cluster)
    {
        Spec = spec;
        Cpu = spec.Resources.Cpu?.Millicores ?? 0;
        Memory = spec.Resources.Memory?.Bytes ?? 0;
        _ports = spec.Ports.Where(p => p.Published is not null).Select(p => (p.Published!.Value, p.Protocol)).ToArray();
        _staticFit = new bool[cluster.Slots.Length];
        for (var i = 0; i < cluster.Slots.Length; i++)
        {
            var slot = cluster.Slots[i];
            _staticFit[i] = slot.Info.Status == NodeStatus.Ready
                && ConstraintsMet(spec.Placement.Constraints, slot.Info.Labels)
                && PortsFree(slot);
        }
    }

    public ServiceSpec Spec { get; }

    /// <summary>Cpu is the request of one replica in millicores.</summary>
    public long Cpu { get; }

    /// <summary>Memory is the request of one replica in bytes.</summary>
    public long Memory { get; }

    public bool Fits(NodeSlot slot, int index) =>
        _staticFit[index] && slot.FreeCpu >= Cpu && slot.FreeMemory >= Memory;

    /// <summary>Claim records this service's published ports on a node it was just placed on.</summary>
    public void Claim(NodeSlot slot)
    {
        foreach (var (port, protocol) in _ports)
        {
            slot.ClaimPort(Spec.Name, port, protocol);
        }
    }

    /// <summary>Explain returns every reason a node cannot take a replica, or an empty list.</summary>
    public List<string> Explain(NodeSlot slot)
    {
        var reasons = new List<string>();
        if (slot.Info.Status != NodeStatus.Ready)
        {
            // Nothing else matters on a node that takes no replicas.
            reasons.Add(slot.Info.Status.ToString().ToLowerInvariant());
            return reasons;
        }
        foreach (var constraint in Spec.Placement.Constraints)
        {
            if (!ConstraintMet(constraint, slot.Info.Labels))
            {
                reasons.Add(slot.Info.Labels.TryGetValue(constraint.Label, out var actual)
                    ? $"constraint {constraint} not met ({constraint.Label} is {actual})"
                    : $"constraint {constraint} not met (no {constraint.Label} label)");
            }
        }
        foreach (var (port, protocol) in _ports)
        {
            if (slot.PortConflict(Spec.Name, port, protocol) is { } claim)
            {
                reasons.Add($"port {port.ToString(CultureInfo.InvariantCulture)}/{protocol.ToString().ToLowerInvariant()} {claim.Describe()}");
            }
        }
        if (slot.FreeCpu < Cpu)
        {
            reasons.Add($"cpu needs {new CpuQuantity(Cpu)}, {new CpuQuantity(Math.Max(0, slot.FreeCpu))} free");
        }
        if (slot.FreeMemory < Memory)
        {
            reasons.Add($"memory needs {HumanBytes(Memory)}, {HumanBytes(Math.Max(0, slot.FreeMemory))} free");
        }
        return reasons;
    }

    public static bool ConstraintsMet(IReadOnlyList<PlacementConstraint> constraints, IReadOnlyDictionary<string, string> labels)
    {
        foreach (var constraint in constraints)
        {
            if (!ConstraintMet(constraint, labels))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>ConstraintMet: `==` needs the label with that value; `!=` is met by any other value or no label.</summary>
    public static bool ConstraintMet(PlacementConstraint constraint, IReadOnlyDictionary<string, string> labels)
    {
        var has = labels.TryGetValue(constraint.Label, out var value);
        var equal = has && string.Equals(value, constraint.Value, StringComparison.Ordinal);
        return constraint.Operator == ConstraintOperator.Equal ? equal : !equal;
    }

    /// <summary>HumanBytes prints a size in the largest binary unit, with one decimal when inexact: 200Mi, 1.5Gi.</summary>
    public static string HumanBytes(long bytes)
    {
        (string Suffix, long Factor)[] units = [("Ti", 1L << 40), ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10)];
        foreach (var (suffix, factor) in units)
        {
            if (bytes >= factor)
            {
                var value = (double)bytes / factor;
                return value.ToString(bytes % factor == 0 ? "0" : "0.#", CultureInfo.InvariantCulture) + suffix;
            }
        }
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    private bool PortsFree(NodeSlot slot)
    {
        foreach (var (port, protocol) in _ports)
        {
            if (slot.PortConflict(Spec.Name, port, protocol) is not null)
            {
                return false;
            }
        }
        return true;
    }
}
