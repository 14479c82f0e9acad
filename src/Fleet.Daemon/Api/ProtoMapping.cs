using System.Text.Json;
using Fleet.Api.V1;
using Fleet.Cluster.Serialization;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Daemon.Api;

/// <summary>ProtoMapping turns the controller's answers into fleet.v1 messages.</summary>
internal static class ProtoMapping
{
    public static Fleet.Api.V1.Service ToProto(this ControllerProtocol.ServiceSummary summary)
    {
        var spec = summary.Entry.Spec;
        var service = new Fleet.Api.V1.Service
        {
            Name = spec.Name.Value,
            Image = spec.Image.ToString(),
            Desired = spec.Replicas,
            Running = summary.Running,
            Healthy = summary.Healthy,
            Generation = summary.Entry.Generation,
            CreatedAt = Timestamp.FromDateTimeOffset(summary.Entry.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(summary.Entry.UpdatedAt),
        };
        service.Ports.AddRange(spec.Ports.Select(Port));
        return service;
    }

    public static Replica ToProto(this ReplicaStatus status)
    {
        var replica = new Replica
        {
            Id = status.Id.ToString(),
            Service = status.Service.Value,
            Node = status.Node.Value,
            State = Word(status.Phase),
            Health = Word(status.Health),
            Ip = status.Ip ?? "",
            Restarts = status.Restarts,
            Generation = status.Generation,
            Reason = status.Reason ?? "",
        };
        if (status.StartedAt is { } started)
        {
            replica.StartedAt = Timestamp.FromDateTimeOffset(started);
        }
        return replica;
    }

    public static Fleet.Api.V1.Node ToProto(this NodeStatus status, int replicas)
    {
        var node = new Fleet.Api.V1.Node
        {
            Name = status.Name.Value,
            Address = status.Address,
            Version = status.Version,
            LastSeen = Timestamp.FromDateTimeOffset(status.LastSeen),
            Replicas = replicas,
        };
        node.Roles.AddRange(status.Roles.Order().Select(r => r == NodeRole.ControlPlane ? "control-plane" : "worker"));
        node.Labels.Add(status.Labels.ToDictionary());
        return node;
    }

    /// <summary>
    /// ToProto maps a summary to a `get nodes` row; its status is the node's reachability as the
    /// controller follows it from cluster membership (<see cref="StatusOf"/>).
    /// </summary>
    public static Fleet.Api.V1.Node ToProto(this ControllerProtocol.NodeSummary summary)
    {
        var node = summary.Node.ToProto(summary.Replicas);
        node.Status = StatusOf(summary);
        node.Scheduling = Word(summary.Scheduling);
        node.CpuUsed = summary.UsedCpu.Millicores;
        node.MemoryUsed = summary.UsedMemory.Bytes;
        if (summary.Node.AllocatableCpu is { } cpu)
        {
            node.CpuAllocatable = cpu.Millicores;
        }
        if (summary.Node.AllocatableMemory is { } memory)
        {
            node.MemoryAllocatable = memory.Bytes;
        }
        node.DrainBlockers.AddRange(summary.DrainBlockers);
        if (summary.FirstSeen is { } first)
        {
            node.FirstSeen = Timestamp.FromDateTimeOffset(first);
        }
        return node;
    }

    /// <summary>StatusOf is the node's reachability word: Ready, Unreachable or Down.</summary>
    public static string StatusOf(ControllerProtocol.NodeSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        return summary.Node.Reachability switch
        {
            NodeReachability.Unreachable => "Unreachable",
            NodeReachability.Down => "Down",
            _ => "Ready",
        };
    }

    public static Event ToProto(this IClusterEvent e)
    {
        var proto = new Event
        {
            At = Timestamp.FromDateTimeOffset(e.At),
            Kind = ClusterEvents.Kind(e),
            Message = ClusterEvents.Describe(e),
        };
        switch (e)
        {
            case IServiceEvent service:
                proto.Service = service.Service.Value;
                proto.Generation = service.Generation;
                break;
            case INodeEvent node:
                proto.Node = node.Node.Value;
                break;
            case IMigrationEvent migration:
                proto.Service = migration.Replica.Service.Value;
                break;
        }
        return proto;
    }

    public static NodeCommandResponse ToProto(this NodeCommandResult result) => new()
    {
        Node = result.Node.Value,
        Outcome = result.Outcome.ToString().ToLowerInvariant(),
        Scheduling = Word(result.Scheduling),
        Message = result.Message,
    };

    public static Fleet.Api.V1.CommandResult ToProto(this Core.State.CommandResult result) => new()
    {
        Service = result.Service.Value,
        Outcome = result.Outcome.ToString().ToLowerInvariant(),
        Generation = result.Generation,
        Message = result.Message,
    };

    /// <summary>SpecJson is the declared spec in the journal's schema, indented for people.</summary>
    public static string SpecJson(ServiceSpec spec) =>
        JsonSerializer.Serialize(ServiceSpecDocument.From(spec), new JsonSerializerOptions(FleetJson.Options) { WriteIndented = true });

    private static string Port(PortMapping port)
    {
        var protocol = port.Protocol == PortProtocol.Udp ? "udp" : "tcp";
        return port.Published is { } published ? $"{published}:{port.Container}/{protocol}" : $"{port.Container}/{protocol}";
    }

    private static string Word<T>(T value)
        where T : struct, System.Enum => value.ToString().ToLowerInvariant();
}
