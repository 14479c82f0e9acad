using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Serialization;

public sealed class FleetSerializerTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");

    private static readonly ReplicaStatus Replica = new(
        ReplicaId.Parse("web-7k2xq"), Node1, 3, ReplicaPhase.Healthy, ReplicaHealth.Healthy, "10.88.0.4", T0, 2, null);

    private static readonly ReplicaStatus FailedReplica = new(
        ReplicaId.Parse("web-b2b2b"), Node1, 3, ReplicaPhase.Failed, ReplicaHealth.Unknown, null, null, 0, "manifest unknown");

    private static readonly NodeStatus NodeInfo = new(
        Node1, "127.0.0.1", new HashSet<NodeRole> { NodeRole.ControlPlane, NodeRole.Worker },
        new Dictionary<string, string> { ["zone"] = "a" }, "0.1.0", T0)
    {
        AllocatableCpu = new Fleet.Core.Quantities.CpuQuantity(1500),
        AllocatableMemory = new Fleet.Core.Quantities.ByteSize(3L << 30),
    };

    private static readonly NodeStatus NodeWithoutCapacity = new(
        NodeName.Parse("node2"), "127.0.0.2", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", T0);

    private static readonly ServiceEntry Entry = new(Specs.Full(), 4, T0, T0.AddHours(1));

    public FleetSerializerTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    /// <summary>Samples has at least one instance of every type the serializer knows.</summary>
    public static TheoryData<string> Manifests() => [.. FleetSerializer.Manifests.Values];

    private static IEnumerable<object> Samples()
    {
        var applied = new ServiceEvents.ServiceApplied(Specs.Full(), 4, T0);
        var scaled = new ServiceEvents.ServiceScaled(Web, 10, 3, 5, T0);
        var deleted = new ServiceEvents.ServiceDeleted(Web, 5, T0);
        var unschedulable = new ServiceEvents.ServiceUnschedulable(Web, 2, ["node1: memory needs 512Mi, 200Mi free", "node2: cordoned"], 5, T0);
        yield return new ServiceCommands.Apply(Specs.Full(), T0);
        yield return new ServiceCommands.Apply(Specs.Service(), T0);
        yield return new ServiceCommands.Scale(Web, 7, T0);
        yield return new ServiceCommands.Delete(Web, T0);
        yield return applied;
        yield return scaled;
        yield return deleted;
        yield return unschedulable;
        yield return new ServiceEvents.ServiceUnschedulable(Web, 1, [], 5, T0);
        yield return new CommandResult(CommandOutcome.NotFound, Web, 0, "service web not found");
        yield return DesiredState.Empty.Apply(applied).Apply(new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0)).Apply(scaled);
        yield return new ControllerProtocol.GetServices();
        yield return new ControllerProtocol.GetService(Web);
        yield return new ControllerProtocol.GetReplicas(Web);
        yield return new ControllerProtocol.GetReplicas(null);
        yield return new ControllerProtocol.GetNodes();
        yield return new ControllerProtocol.GetEvents(50);
        yield return new ControllerProtocol.ServicesResponse([new ControllerProtocol.ServiceSummary(Entry, 2, 1)]);
        yield return new ControllerProtocol.ServiceResponse(new ControllerProtocol.ServiceSummary(Entry, 2, 1), [Replica, FailedReplica], [applied, scaled]);
        yield return new ControllerProtocol.ServiceResponse(null, [], []);
        yield return new ControllerProtocol.ReplicasResponse([Replica, FailedReplica]);
        yield return new ControllerProtocol.NodesResponse([NodeInfo, NodeWithoutCapacity]);
        yield return new ControllerProtocol.EventsResponse([applied, scaled, deleted, unschedulable]);
        yield return new ControllerProtocol.GetMeshView(0);
        yield return new ControllerProtocol.GetMeshView(long.MaxValue);
        yield return new ControllerProtocol.MeshView(7, [new ControllerProtocol.ServiceSummary(Entry, 2, 1)], [Replica, FailedReplica], [NodeInfo, NodeWithoutCapacity]);
        yield return new ControllerProtocol.MeshView(1, [], [], []);
        yield return new ControllerProtocol.MeshViewUnchanged(7);
        yield return DesiredState.Empty.Apply(applied).Apply(unschedulable);
        yield return new AgentProtocol.NodeInventory(NodeInfo, [Replica, FailedReplica]);
        yield return new AgentProtocol.NodeInventory(NodeWithoutCapacity, []);
        yield return new AgentProtocol.ReplicaStatusChanged(Replica);
        yield return new AgentProtocol.ReplicaRemoved(Replica.Id, Node1);
        yield return new AgentProtocol.StartReplica(Replica.Id, Specs.Full(), 3);
        yield return new AgentProtocol.StopReplica(Replica.Id, "scaled down");
        yield return new AgentProtocol.RequestInventory();
        var cordoned = new NodeEvents.NodeCordoned(Node1, T0);
        var draining = new NodeEvents.NodeDrainStarted(NodeName.Parse("node2"), T0);
        yield return new NodeCommands.Cordon(Node1, T0);
        yield return new NodeCommands.Uncordon(Node1, T0);
        yield return new NodeCommands.Drain(Node1, T0);
        yield return cordoned;
        yield return new NodeEvents.NodeUncordoned(Node1, T0);
        yield return draining;
        yield return new NodeCommandResult(CommandOutcome.Updated, Node1, NodeScheduling.Draining, "node node1 cordoned and draining");
        yield return new ControllerProtocol.EventsResponse([applied, cordoned, draining]);
        yield return DesiredState.Empty.Apply(applied).Apply(cordoned).Apply(draining);
        yield return new ControllerProtocol.GetNodeSummaries();
        yield return new ControllerProtocol.NodeSummariesResponse([
            new ControllerProtocol.NodeSummary(NodeInfo, NodeScheduling.Draining, new Fleet.Core.Quantities.CpuQuantity(250), new Fleet.Core.Quantities.ByteSize(64L << 20), 2,
                ["cannot move web-7k2xq: node2: cordoned"]) { FirstSeen = T0 },
            new ControllerProtocol.NodeSummary(NodeWithoutCapacity, NodeScheduling.Schedulable, default, default, 0, []),
        ]);
        foreach (var sample in RebalanceSerializationTests.Samples())
        {
            yield return sample;
        }
        // --- scale to zero ---
        var idled = new ServiceEvents.ServiceAutoscaled(Web, 0, 2, "web 2 → 0: idle for 5m (idleAfter 5m)", 6, T0);
        yield return idled;
        yield return DesiredState.Empty.Apply(applied).Apply(idled);
        yield return new ScaleToZeroProtocol.MeshActivity(Node1, [
            new ScaleToZeroProtocol.ServiceActivity(Web, TimeSpan.FromMilliseconds(1500), 2, 0),
            new ScaleToZeroProtocol.ServiceActivity(ServiceName.Parse("api"), null, 0, 3),
        ]);
        yield return new ScaleToZeroProtocol.MeshActivity(Node1, []);
        yield return new ScaleToZeroProtocol.WakeService(Web, Node1);
        yield return new ScaleToZeroProtocol.ServiceReady(Web);
        foreach (var rollout in RolloutSerializationTests.Samples())
        {
            yield return rollout;
        }
        // --- autoscale ---
        var autoscaled = new ServiceEvents.ServiceAutoscaled(Web, 7, 3, "web 3 → 7: cpu 140 % of target 60 %", 6, T0);
        yield return autoscaled;
        yield return new ControllerProtocol.EventsResponse([applied, autoscaled]);
        yield return DesiredState.Empty.Apply(applied).Apply(autoscaled);
        yield return new AutoscaleProtocol.UsageSample(Node1, T0, [
            new AutoscaleProtocol.ServiceUsage(Web, 1234, 3, 0, [
                new AutoscaleProtocol.ReplicaUsage(Replica.Id, 12.5, 24L << 20, 17.25),
                new AutoscaleProtocol.ReplicaUsage(FailedReplica.Id, 0.125, 0, null),
            ]),
            new AutoscaleProtocol.ServiceUsage(ServiceName.Parse("api"), 0, 0, 2, []),
        ]);
        yield return new AutoscaleProtocol.UsageSample(Node1, T0, []);
        yield return new AutoscaleProtocol.GetAutoscale(Web);
        yield return new AutoscaleProtocol.GetAutoscale(null);
        yield return new AutoscaleProtocol.AutoscaleResponse([
            new AutoscaleProtocol.AutoscaleStatus(Web, 1, 10, 7, [new("cpu", 140, 60), new("rps", null, 100)], "web 3 → 7: cpu 140 % of target 60 %", T0, 2, 1),
            new AutoscaleProtocol.AutoscaleStatus(ServiceName.Parse("api"), 0, 3, 0, [], null, null, 0, 0),
        ]);
        // --- migration ---
        var migrationStarted = new MigrationEvents.MigrationStarted("mig-0a1b2c3d", Replica.Id, ReplicaId.Parse("web-c3c3c"), Node1, NodeName.Parse("node2"),
            MigrationMode.FreezeAndCopy, "requested", Specs.Full(), 4, T0) { BandwidthBytesPerSecond = 1 << 20 };
        var timings = new MigrationTimings { PrepareMs = 12.5, PreCopyBytes = 1 << 20, PreCopyMs = 80, FreezeMs = 30, FinalCopyBytes = 4096, FinalCopyMs = 9, DowntimeMs = 140 };
        var progressed = new MigrationEvents.MigrationProgressed("mig-0a1b2c3d", Replica.Id, MigrationPhase.Frozen, timings, T0);
        var completed = new MigrationEvents.MigrationCompleted("mig-0a1b2c3d", Replica.Id, timings, T0);
        var rolledBack = new MigrationEvents.MigrationRolledBack("mig-0a1b2c3d", Replica.Id, "node2 left", T0);
        yield return migrationStarted;
        yield return new MigrationEvents.MigrationStarted("mig-1", Replica.Id, ReplicaId.Parse("web-d4d4d"), Node1, NodeName.Parse("node2"), MigrationMode.MakeBeforeBreak, "drain", Specs.Service(), 1, T0);
        yield return progressed;
        yield return completed;
        yield return rolledBack;
        yield return new MigrationCommands.Migrate(Replica.Id, NodeName.Parse("node2"), 1 << 20, T0);
        yield return new MigrationCommands.Migrate(Replica.Id, null, null, T0);
        var inFlight = DesiredState.Empty.Apply(migrationStarted).Apply(progressed);
        yield return new MigrationCommands.MigrateResult(true, "migration mig-0a1b2c3d: moving", inFlight.Migrations["mig-0a1b2c3d"]);
        yield return new MigrationCommands.MigrateResult(false, "replica web-zzzzz not found", null);
        yield return new MigrationCommands.GetMigrations();
        yield return new MigrationCommands.MigrationsResponse([.. inFlight.Apply(completed).Migrations.Values]);
        yield return new MigrationProtocol.MigrationProgress("mig-0a1b2c3d", ReplicaId.Parse("web-c3c3c"), NodeName.Parse("node2"), MigrationPhase.Committed, timings, null);
        yield return new MigrationProtocol.MigrationProgress("mig-0a1b2c3d", ReplicaId.Parse("web-c3c3c"), NodeName.Parse("node2"), MigrationPhase.Copying, new MigrationTimings(), "node1: connection refused");
        yield return new MigrationProtocol.ThawReplica(Replica.Id, "mig-0a1b2c3d");
        yield return new AgentProtocol.StartReplica(ReplicaId.Parse("web-c3c3c"), Specs.Full(), 4)
        {
            MigrateFrom = new MigrationProtocol.MigrationSource("mig-0a1b2c3d", Replica.Id, Node1, 1 << 20),
        };
        yield return new ControllerProtocol.EventsResponse([applied, migrationStarted, progressed, completed, rolledBack]);
        yield return inFlight; // the snapshot keeps migrations in flight
    }

    [Fact]
    public void A_scale_to_zero_keeps_its_reason_and_the_wake_timeout_through_the_journal()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var idled = new ServiceEvents.ServiceAutoscaled(Web, 0, 2, "web 2 → 0: idle for 5m (idleAfter 5m)", 6, T0);
        var spec = Specs.Service() with { Autoscale = new AutoscalePolicy { Min = 0, Max = 3, IdleAfter = TimeSpan.FromMinutes(5), WakeTimeout = TimeSpan.FromSeconds(45) } };

        var back = (ServiceEvents.ServiceAutoscaled)serializer.FromBinary(serializer.ToBinary(idled), "svc.autoscaled");
        var applied = (ServiceEvents.ServiceApplied)serializer.FromBinary(serializer.ToBinary(new ServiceEvents.ServiceApplied(spec, 1, T0)), "svc.applied");
        var activity = (ScaleToZeroProtocol.MeshActivity)serializer.FromBinary(
            serializer.ToBinary(new ScaleToZeroProtocol.MeshActivity(Node1, [new ScaleToZeroProtocol.ServiceActivity(Web, TimeSpan.FromMilliseconds(1500), 2, 1)])),
            "mesh.activity");

        Assert.Equal("web 2 → 0: idle for 5m (idleAfter 5m)", back.Reason);
        Assert.Equal("autoscaler: web 2 → 0: idle for 5m (idleAfter 5m)", ServiceEvents.Describe(back));
        Assert.Equal(TimeSpan.FromSeconds(45), applied.Spec.Autoscale!.WakeTimeout);
        Assert.Equal(new ScaleToZeroProtocol.ServiceActivity(Web, TimeSpan.FromMilliseconds(1500), 2, 1), Assert.Single(activity.Services));
    }

    [Theory]
    [MemberData(nameof(Manifests))]
    public void Every_manifest_has_a_sample_that_round_trips(string manifest)
    {
        var samples = Samples().Where(s => FleetSerializer.Manifests[s.GetType()] == manifest).ToList();
        Assert.NotEmpty(samples);
        var serializer = Sys.Serialization.FindSerializerForType(samples[0].GetType());
        Assert.IsType<FleetSerializer>(serializer);

        foreach (var sample in samples)
        {
            var bytes = serializer.ToBinary(sample);
            var back = Sys.Serialization.Deserialize(bytes, serializer.Identifier, manifest);

            Assert.IsType(sample.GetType(), back);
            // Records compare lists by reference, so compare the canonical bytes, then spot-check.
            Assert.Equal(Encoding.UTF8.GetString(bytes), Encoding.UTF8.GetString(serializer.ToBinary(back)));
            Assert.DoesNotContain("Fleet.Core", Encoding.UTF8.GetString(bytes), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_full_spec_survives_the_journal_schema()
    {
        var spec = Specs.Full();
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);

        var back = (ServiceEvents.ServiceApplied)serializer.FromBinary(
            serializer.ToBinary(new ServiceEvents.ServiceApplied(spec, 1, T0)), "svc.applied");

        Assert.True(ServiceSpecEquality.Equivalent(spec, back.Spec));
        Assert.Equal(("SIGINT", TimeSpan.FromSeconds(90), true), (back.Spec.StopSignal, back.Spec.StopGracePeriod, back.Spec.Init));
        Assert.Equal(T0, back.At);
    }

    [Fact]
    public void The_snapshot_restores_services_and_history()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var state = DesiredState.Empty
            .Apply(new ServiceEvents.ServiceApplied(Specs.Full(), 1, T0))
            .Apply(new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0))
            .Apply(new ServiceEvents.ServiceScaled(Web, 9, 3, 2, T0));

        var back = (DesiredState)serializer.FromBinary(serializer.ToBinary(state), serializer.Manifest(state));

        Assert.Equal(["api", "web"], back.Services.Keys);
        Assert.Equal(9, back.Find(Web)!.Spec.Replicas);
        Assert.Equal(2, back.Find(Web)!.Generation);
        Assert.True(ServiceSpecEquality.Equivalent(Specs.Full(), back.Find(ServiceName.Parse("api"))!.Spec));
        Assert.Equal(3, back.History.Count);
        Assert.IsType<ServiceEvents.ServiceScaled>(back.History[^1]);
    }

    [Fact]
    public void Node_capacity_and_the_spec_generation_survive_the_wire_and_the_snapshot()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);
        var inventory = new AgentProtocol.NodeInventory(NodeInfo, []);
        var state = DesiredState.Empty
            .Apply(new ServiceEvents.ServiceApplied(Specs.Service(), 1, T0))
            .Apply(new ServiceEvents.ServiceApplied(Specs.Service(image: "busybox:1.37"), 2, T0))
            .Apply(new ServiceEvents.ServiceScaled(Web, 5, 3, 3, T0))
            .Apply(new ServiceEvents.ServiceUnschedulable(Web, 2, ["node1: memory needs 512Mi, 200Mi free"], 3, T0));

        var node = ((AgentProtocol.NodeInventory)serializer.FromBinary(serializer.ToBinary(inventory), "agent.inventory")).Node;
        var back = (DesiredState)serializer.FromBinary(serializer.ToBinary(state), serializer.Manifest(state));

        Assert.Equal((1500L, 3L << 30), (node.AllocatableCpu!.Value.Millicores, node.AllocatableMemory!.Value.Bytes));
        Assert.Equal((3L, 2L), (back.Find(Web)!.Generation, back.Find(Web)!.RolloutGeneration));
        var last = Assert.IsType<ServiceEvents.ServiceUnschedulable>(back.History[^1]);
        Assert.Equal(["node1: memory needs 512Mi, 200Mi free"], last.Reasons);
    }

    [Fact]
    public void Enums_and_ids_are_written_as_words()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);

        var json = Encoding.UTF8.GetString(serializer.ToBinary(new AgentProtocol.NodeInventory(NodeInfo, [Replica])));

        Assert.Contains("\"roles\":[\"control-plane\",\"worker\"]", json, StringComparison.Ordinal);
        Assert.Contains("\"phase\":\"healthy\"", json, StringComparison.Ordinal);
        Assert.Contains("\"id\":\"web-7k2xq\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"service\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_manifest_is_an_error()
    {
        var serializer = new FleetSerializer((ExtendedActorSystem)Sys);

        Assert.Throws<System.Runtime.Serialization.SerializationException>(() => serializer.FromBinary("{}"u8.ToArray(), "svc.renamed"));
    }
}
