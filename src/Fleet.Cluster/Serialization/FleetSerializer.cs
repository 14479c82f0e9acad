using System.Text.Json;
using Akka.Actor;
using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Serialization;
using Fleet.Core.State;

namespace Fleet.Cluster.Serialization;

/// <summary>
/// FleetSerializer serializes every Fleet message and event as System.Text.Json under an
/// explicit string manifest (<see cref="Manifests"/>). A manifest names a schema, never a CLR
/// type: renaming a class must not break a journal.
/// </summary>
public sealed class FleetSerializer : SerializerWithStringManifest
{
    /// <summary>Identifier is the serializer id Akka records beside each payload; never change it.</summary>
    public const int Id = 4053_01;

    /// <summary>Name is the serializer's name in the Akka configuration.</summary>
    public const string Name = "fleet-json";

    /// <summary>Manifests maps each message type to its schema name. Add, never rename.</summary>
    public static readonly IReadOnlyDictionary<Type, string> Manifests = new Dictionary<Type, string>
    {
        [typeof(ServiceCommands.Apply)] = "svc.apply",
        [typeof(ServiceCommands.Scale)] = "svc.scale",
        [typeof(ServiceCommands.Delete)] = "svc.delete",
        [typeof(ServiceEvents.ServiceApplied)] = "svc.applied",
        [typeof(ServiceEvents.ServiceScaled)] = "svc.scaled",
        [typeof(ServiceEvents.ServiceDeleted)] = "svc.deleted",
        [typeof(ServiceEvents.ServiceUnschedulable)] = "svc.unschedulable",
        [typeof(CommandResult)] = "svc.result",
        [typeof(DesiredState)] = "desired.snapshot",
        [typeof(ControllerProtocol.GetServices)] = "q.services",
        [typeof(ControllerProtocol.GetService)] = "q.service",
        [typeof(ControllerProtocol.GetReplicas)] = "q.replicas",
        [typeof(ControllerProtocol.GetNodes)] = "q.nodes",
        [typeof(ControllerProtocol.GetEvents)] = "q.events",
        [typeof(ControllerProtocol.ServicesResponse)] = "r.services",
        [typeof(ControllerProtocol.ServiceResponse)] = "r.service",
        [typeof(ControllerProtocol.ReplicasResponse)] = "r.replicas",
        [typeof(ControllerProtocol.NodesResponse)] = "r.nodes",
        [typeof(ControllerProtocol.EventsResponse)] = "r.events",
        [typeof(AgentProtocol.NodeInventory)] = "agent.inventory",
        [typeof(AgentProtocol.ReplicaStatusChanged)] = "agent.replica-status",
        [typeof(AgentProtocol.ReplicaRemoved)] = "agent.replica-removed",
        [typeof(AgentProtocol.StartReplica)] = "agent.start",
        [typeof(AgentProtocol.StopReplica)] = "agent.stop",
        [typeof(AgentProtocol.RequestInventory)] = "agent.request-inventory",
        [typeof(NodeCommands.Cordon)] = "node.cordon",
        [typeof(NodeCommands.Uncordon)] = "node.uncordon",
        [typeof(NodeCommands.Drain)] = "node.drain",
        [typeof(NodeEvents.NodeCordoned)] = "node.cordoned",
        [typeof(NodeEvents.NodeUncordoned)] = "node.uncordoned",
        [typeof(NodeEvents.NodeDrainStarted)] = "node.drain-started",
        [typeof(NodeCommandResult)] = "node.result",
        [typeof(ControllerProtocol.GetNodeSummaries)] = "q.node-summaries",
        [typeof(ControllerProtocol.NodeSummariesResponse)] = "r.node-summaries",
        [typeof(RebalanceEvents.ReplicaRebalanced)] = "svc.rebalanced",
        [typeof(RebalanceProtocol.Rebalance)] = "rebalance.run",
        [typeof(RebalanceProtocol.GetRebalance)] = "q.rebalance",
        [typeof(RebalanceProtocol.RebalanceResponse)] = "r.rebalance",
        [typeof(ScaleToZeroProtocol.MeshActivity)] = "mesh.activity",
        [typeof(ScaleToZeroProtocol.WakeService)] = "mesh.wake",
        [typeof(ScaleToZeroProtocol.ServiceReady)] = "mesh.ready",
        [typeof(RolloutEvents.ServiceRolloutComplete)] = "svc.rolled-out",
        [typeof(RolloutEvents.ServiceRolloutFailed)] = "svc.rollout-failed",
        [typeof(RolloutEvents.ServiceRolledBack)] = "svc.rolled-back",
        [typeof(RolloutProtocol.Undo)] = "rollout.undo",
        [typeof(RolloutProtocol.GetRollout)] = "q.rollout",
        [typeof(RolloutProtocol.RolloutResponse)] = "r.rollout",
        [typeof(ServiceEvents.ServiceAutoscaled)] = "svc.autoscaled",
        [typeof(AutoscaleProtocol.UsageSample)] = "agent.usage",
        [typeof(AutoscaleProtocol.GetAutoscale)] = "q.autoscale",
        [typeof(AutoscaleProtocol.AutoscaleResponse)] = "r.autoscale",
        // --- migration ---
        [typeof(MigrationEvents.MigrationStarted)] = "mig.started",
        [typeof(MigrationEvents.MigrationProgressed)] = "mig.progressed",
        [typeof(MigrationEvents.MigrationCompleted)] = "mig.completed",
        [typeof(MigrationEvents.MigrationRolledBack)] = "mig.rolled-back",
        [typeof(MigrationCommands.Migrate)] = "mig.migrate",
        [typeof(MigrationCommands.MigrateResult)] = "mig.result",
        [typeof(MigrationCommands.GetMigrations)] = "q.migrations",
        [typeof(MigrationCommands.MigrationsResponse)] = "r.migrations",
        [typeof(MigrationProtocol.MigrationProgress)] = "agent.migration-progress",
        [typeof(MigrationProtocol.ThawReplica)] = "agent.thaw",
        // --- routing mesh ---
        [typeof(ControllerProtocol.GetMeshView)] = "q.mesh-view",
        [typeof(ControllerProtocol.MeshView)] = "r.mesh-view",
        [typeof(ControllerProtocol.MeshViewUnchanged)] = "r.mesh-view-unchanged",
    };

    // The snapshot's schema type differs from the state type it stands for.
    private static readonly Dictionary<string, Type> Types = Manifests.ToDictionary(
        kv => kv.Value, kv => kv.Key == typeof(DesiredState) ? typeof(DesiredSnapshot) : kv.Key, StringComparer.Ordinal);

    public FleetSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    public override int Identifier => Id;

    /// <summary>BoundTypes are the types to bind to this serializer.</summary>
    public static IEnumerable<Type> BoundTypes => Manifests.Keys;

    public override string Manifest(object o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return Manifests.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{nameof(FleetSerializer)} has no manifest for {o.GetType()}", nameof(o));
    }

    public override byte[] ToBinary(object obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var value = obj is DesiredState state ? DesiredSnapshot.From(state) : obj;
        return JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), FleetJson.Options);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!Types.TryGetValue(manifest, out var type))
        {
            throw new SerializationException($"{nameof(FleetSerializer)}: unknown manifest `{manifest}`");
        }
        var value = JsonSerializer.Deserialize(bytes, type, FleetJson.Options)
                    ?? throw new SerializationException($"{nameof(FleetSerializer)}: `{manifest}` payload is null");
        return value is DesiredSnapshot snapshot ? snapshot.ToState() : value;
    }
}

/// <summary>FleetSerialization binds <see cref="FleetSerializer"/> for an ActorSystem made without Akka.Hosting (tests, tools).</summary>
public static class FleetSerialization
{
    /// <summary>Setup is the serialization setup to pass in an ActorSystemSetup.</summary>
    public static SerializationSetup Setup() => SerializationSetup.Create(system =>
        ImmutableHashSet.Create(
            SerializerDetails.Create(FleetSerializer.Name, new FleetSerializer(system), FleetSerializer.BoundTypes.ToImmutableHashSet())));
}
