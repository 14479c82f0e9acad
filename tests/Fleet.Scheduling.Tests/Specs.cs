using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Model;

namespace Fleet.Scheduling.Tests;

/// <summary>Specs builds the service specs and replicas the tests need, in one line each.</summary>
internal static class Specs
{
    public static ServiceSpec Service(string name, int replicas = 1, string? cpu = null, string? memory = null,
        SpreadMode spread = SpreadMode.Node, string[]? constraints = null, int[]? published = null, bool stateful = false,
        bool health = false, int maxSurge = 1, int maxUnavailable = 0, RestartPolicy restart = RestartPolicy.Always,
        string image = "nginx:1.27")
    {
        return new ServiceSpec
        {
            Name = ServiceName.Parse(name),
            Image = ImageReference.Parse(image),
            Replicas = replicas,
            Resources = new ResourceRequest
            {
                Cpu = cpu is null ? null : Cpu(cpu),
                Memory = memory is null ? null : Bytes(memory),
            },
            Placement = new Placement { Spread = spread, Constraints = [.. (constraints ?? []).Select(Constraint)] },
            Ports = [.. (published ?? []).Select(p => new PortMapping(80, p))],
            Stateful = stateful,
            Health = health ? new HealthCheck { Probe = new TcpProbe(80) } : null,
            Update = new UpdatePolicy { MaxSurge = maxSurge, MaxUnavailable = maxUnavailable },
            Restart = restart,
        };
    }

    /// <summary>Constraint parses "zone == a" or "zone != a".</summary>
    public static PlacementConstraint Constraint(string text)
    {
        var op = text.Contains("!=", StringComparison.Ordinal) ? ConstraintOperator.NotEqual : ConstraintOperator.Equal;
        var parts = text.Split(op == ConstraintOperator.Equal ? "==" : "!=", 2);
        return new PlacementConstraint(parts[0].Trim(), op, parts[1].Trim());
    }

    public static ObservedReplica Replica(string id, string node, ReplicaState state = ReplicaState.Healthy, long generation = 1,
        bool stateful = false) =>
        new() { Id = ReplicaId.Parse(id), Node = NodeName.Parse(node), State = state, Generation = generation, Stateful = stateful };

    public static ReplicaId Id(string id) => ReplicaId.Parse(id);

    public static NodeName Node(string name) => NodeName.Parse(name);

    public static CpuQuantity Cpu(string text) => CpuQuantity.TryParse(text, out var c, out var e) ? c : throw new FormatException(e);

    public static ByteSize Bytes(string text) => ByteSize.TryParse(text, out var b, out var e) ? b : throw new FormatException(e);
}
