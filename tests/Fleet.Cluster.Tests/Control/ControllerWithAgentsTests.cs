using Akka.Actor;
using Akka.Actor.Setup;
using Fleet.Cluster.Agent;
using Fleet.Cluster.Control;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Control;

/// <summary>
/// The controller with the scheduler, driving real node agents over in-memory drivers (and a
/// gated one where a test decides when replicas turn healthy): what ends up on the nodes.
/// </summary>
public sealed class ControllerWithAgentsTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    private static readonly ControllerSettings Settings = new()
    {
        Seed = 11,
        ReconcileInterval = TimeSpan.FromMilliseconds(100),
    };

    public ControllerWithAgentsTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private IActorRef StartCluster(params (NodeName Node, IReplicaDriver Driver, string? Memory)[] nodes)
    {
        var controller = Sys.ActorOf(ClusterController.Props(Settings));
        foreach (var (node, driver, memory) in nodes)
        {
            var status = new NodeStatus(node, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow)
            {
                AllocatableCpu = new CpuQuantity(2000),
                AllocatableMemory = memory is null ? null : ByteSize.TryParse(memory, out var size, out _) ? size : throw new ArgumentException(memory),
            };
            Sys.ActorOf(NodeAgent.Props(new AgentSettings(status, TimeSpan.FromMilliseconds(300)), driver, controller));
        }
        return controller;
    }

    private static T Ask<T>(IActorRef controller, object message) => controller.Ask<T>(message, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    private static CommandResult Apply(IActorRef controller, ServiceSpec spec) =>
        Ask<CommandResult>(controller, new ServiceCommands.Apply(spec, DateTimeOffset.UtcNow));

    private static CommandResult Scale(IActorRef controller, int replicas) =>
        Ask<CommandResult>(controller, new ServiceCommands.Scale(Web, replicas, DateTimeOffset.UtcNow));

    private static IReadOnlyList<IServiceEvent> Events(IActorRef controller) =>
        Ask<ControllerProtocol.ServiceResponse>(controller, new ControllerProtocol.GetService(Web)).Events;

    [Fact]
    public void Scale_up_spreads_over_the_nodes_and_scale_down_stops_the_surplus()
    {
        var (driver1, driver2) = (new InMemoryReplicaDriver(Node1), new InMemoryReplicaDriver(Node2));
        var controller = StartCluster((Node1, driver1, null), (Node2, driver2, null));
        AwaitAssert(() => Assert.Equal(2, Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);

        Apply(controller, Specs.Service(replicas: 4));
        AwaitAssert(() => Assert.Equal((2, 2), (driver1.Replicas.Count, driver2.Replicas.Count)), Settle);

        Scale(controller, 1);
        AwaitAssert(() => Assert.Equal(1, driver1.Replicas.Count + driver2.Replicas.Count), Settle);
        AwaitAssert(() => Assert.Equal(1, Ask<ControllerProtocol.ServicesResponse>(controller, new ControllerProtocol.GetServices()).Services.Single().Running), Settle);

        Scale(controller, 3);
        AwaitAssert(() => Assert.Equal(3, driver1.Replicas.Count + driver2.Replicas.Count), Settle);
        Assert.All(driver1.Replicas.Concat(driver2.Replicas), r => Assert.Equal(ReplicaPhase.Running, r.Phase));
    }

    [Fact]
    public void Applying_a_new_image_replaces_every_replica_with_the_new_generation()
    {
        var (driver1, driver2) = (new InMemoryReplicaDriver(Node1), new InMemoryReplicaDriver(Node2));
        var controller = StartCluster((Node1, driver1, null), (Node2, driver2, null));
        Apply(controller, Specs.Service(replicas: 3));
        AwaitAssert(() => Assert.Equal(3, driver1.Replicas.Count + driver2.Replicas.Count), Settle);
        var before = driver1.Replicas.Concat(driver2.Replicas).Select(r => r.Id).ToHashSet();

        var result = Apply(controller, Specs.Service(replicas: 3, image: "busybox:1.37"));

        Assert.Equal(2, result.Generation);
        AwaitAssert(() =>
        {
            var now = driver1.Replicas.Concat(driver2.Replicas).ToList();
            Assert.Equal(3, now.Count);
            Assert.All(now, r => Assert.Equal((2L, ReplicaPhase.Running), (r.Generation, r.Phase)));
            Assert.Empty(now.Select(r => r.Id).Intersect(before));
        }, Settle);
        var replicas = Ask<ControllerProtocol.ReplicasResponse>(controller, new ControllerProtocol.GetReplicas(Web)).Replicas;
        Assert.All(replicas, r => Assert.Equal(2, r.Generation));
    }

    [Fact]
    public void A_rollout_adds_at_most_max_surge_and_waits_for_the_new_replica_to_be_healthy()
    {
        var driver = new GatedReplicaDriver(Node1);
        var controller = StartCluster((Node1, driver, null));
        const string update = "health:\n  http: { path: /, port: 80 }\nupdate: { maxSurge: 1, maxUnavailable: 0 }\n";
        Apply(controller, Specs.Service(replicas: 3, extra: update));
        AwaitAssert(() => Assert.Equal(3, driver.Replicas.Count), Settle);
        driver.Release();
        AwaitAssert(() => Assert.Equal(3, Ask<ControllerProtocol.ServicesResponse>(controller, new ControllerProtocol.GetServices()).Services.Single().Healthy), Settle);
        var old = driver.Replicas.Select(r => r.Id).ToHashSet();

        Apply(controller, Specs.Service(replicas: 3, image: "busybox:1.37", extra: update));

        for (var step = 1; step <= 3; step++)
        {
            AwaitAssert(() => Assert.Single(driver.Replicas, r => r.Phase == ReplicaPhase.Starting), Settle);
            // Many reconcile ticks later the rollout still waits for this replica: nothing else starts or stops.
            Thread.Sleep(TimeSpan.FromMilliseconds(800));
            var replicas = driver.Replicas;
            Assert.Single(replicas, r => r.Phase == ReplicaPhase.Starting);
            Assert.Equal(4, replicas.Count);
            Assert.Equal(4 - step, replicas.Count(r => old.Contains(r.Id)));
            driver.Release();
            AwaitAssert(() => Assert.Equal(3 - step, driver.Replicas.Count(r => old.Contains(r.Id))), Settle);
        }

        AwaitAssert(() =>
        {
            Assert.Equal(3, driver.Replicas.Count);
            Assert.All(driver.Replicas, r => Assert.Equal((2L, ReplicaPhase.Healthy), (r.Generation, r.Phase)));
        }, Settle);
        Assert.Equal(4, driver.MostAtOnce);
        Assert.Equal(6, driver.Started.Count);
    }

    [Fact]
    public void Replicas_exceeding_a_nodes_memory_are_reported_unschedulable_once_with_the_reason()
    {
        var driver = new InMemoryReplicaDriver(Node1);
        var controller = StartCluster((Node1, driver, "712Mi"));
        AwaitAssert(() => Assert.Single(Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes), Settle);

        Apply(controller, Specs.Service(replicas: 3, extra: "resources: { memory: 512Mi }"));

        AwaitAssert(() => Assert.Single(Events(controller).OfType<ServiceEvents.ServiceUnschedulable>()), Settle);
        Thread.Sleep(TimeSpan.FromSeconds(1)); // ten reconcile ticks and three inventories: no repeat
        var events = Events(controller);
        var e = Assert.Single(events.OfType<ServiceEvents.ServiceUnschedulable>());
        Assert.Equal("web: 2 replicas unschedulable: node1: memory needs 512Mi, 200Mi free", ServiceEvents.Describe(e));
        Assert.Equal("unschedulable", ClusterEvents.Kind(Ask<ControllerProtocol.EventsResponse>(controller, new ControllerProtocol.GetEvents(1)).Events.Single()));
        Assert.Single(driver.Replicas);

        // Room enough: the shortage ends; a later, different one is reported anew.
        Scale(controller, 1);
        Scale(controller, 4);
        AwaitAssert(() => Assert.Equal(2, Events(controller).OfType<ServiceEvents.ServiceUnschedulable>().Count()), Settle);
        Assert.Equal("web: 3 replicas unschedulable: node1: memory needs 512Mi, 200Mi free",
            ServiceEvents.Describe(Events(controller).OfType<ServiceEvents.ServiceUnschedulable>().Last()));
    }

    [Fact]
    public void A_replica_whose_image_cannot_be_pulled_stays_failed_with_its_reason_until_a_new_spec()
    {
        var driver = new InMemoryReplicaDriver(Node1) { FailStartsWith = "pull docker.io/library/busybox:nope: manifest unknown" };
        var controller = StartCluster((Node1, driver, null));
        Apply(controller, Specs.Service(replicas: 2, image: "busybox:nope"));
        AwaitAssert(() => Assert.Equal(2, driver.Replicas.Count(r => r.Phase == ReplicaPhase.Failed)), Settle);
        var failed = driver.Replicas.Select(r => r.Id).ToHashSet();

        Thread.Sleep(TimeSpan.FromSeconds(1)); // ten reconcile ticks

        Assert.Equal(failed, driver.Replicas.Select(r => r.Id).ToHashSet());
        var described = Ask<ControllerProtocol.ServiceResponse>(controller, new ControllerProtocol.GetService(Web));
        Assert.All(described.Replicas, r => Assert.Equal((ReplicaPhase.Failed, "pull docker.io/library/busybox:nope: manifest unknown"), (r.Phase, r.Reason)));

        driver.FailStartsWith = null;
        Apply(controller, Specs.Service(replicas: 2));

        AwaitAssert(() =>
        {
            Assert.Equal(2, driver.Replicas.Count);
            Assert.All(driver.Replicas, r => Assert.Equal((2L, ReplicaPhase.Running), (r.Generation, r.Phase)));
            Assert.Empty(driver.Replicas.Select(r => r.Id).Intersect(failed));
        }, Settle);
    }
}
