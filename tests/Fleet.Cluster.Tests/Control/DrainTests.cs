using System.Collections.Concurrent;
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
/// Cordon, uncordon and drain through the controller with the scheduler, driving real node
/// agents over in-memory drivers (gated ones where a test decides when replicas turn healthy):
/// where replicas end up, in which order old and new ones start and stop, and that the declared
/// node scheduling outlives the controller.
/// </summary>
public sealed class DrainTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly NodeName Node3 = NodeName.Parse("node3");
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);
    private const string Health = "health:\n  http: { path: /, port: 80 }\n";

    private static readonly ControllerSettings Settings = new()
    {
        Seed = 5,
        ReconcileInterval = TimeSpan.FromMilliseconds(100),
    };

    public DrainTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private IActorRef StartCluster(params (NodeName Node, IReplicaDriver Driver)[] nodes) => StartAgents(Sys.ActorOf(ClusterController.Props(Settings)), nodes);

    private IActorRef StartAgents(IActorRef controller, params (NodeName Node, IReplicaDriver Driver)[] nodes)
    {
        foreach (var (node, driver) in nodes)
        {
            Sys.ActorOf(NodeAgent.Props(new AgentSettings(Status(node), TimeSpan.FromMilliseconds(300)), driver, controller));
        }
        AwaitAssert(() => Assert.Equal(nodes.Length, Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);
        return controller;
    }

    private static NodeStatus Status(NodeName node) =>
        new(node, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow)
        {
            AllocatableCpu = new CpuQuantity(2000),
            AllocatableMemory = new ByteSize(1L << 30),
        };

    private static T Ask<T>(IActorRef controller, object message) => controller.Ask<T>(message, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    private static CommandResult Apply(IActorRef controller, ServiceSpec spec) =>
        Ask<CommandResult>(controller, new ServiceCommands.Apply(spec, DateTimeOffset.UtcNow));

    private static NodeCommandResult Node(IActorRef controller, INodeCommand command) => Ask<NodeCommandResult>(controller, command);

    private static ControllerProtocol.NodeSummary Summary(IActorRef controller, NodeName node) =>
        Ask<ControllerProtocol.NodeSummariesResponse>(controller, new ControllerProtocol.GetNodeSummaries()).Nodes.Single(n => n.Node.Name == node);

    [Fact]
    public void Drain_with_three_nodes_moves_every_replica_off_the_node()
    {
        var drivers = new[] { Node1, Node2, Node3 }.Select(n => new InMemoryReplicaDriver(n)).ToArray();
        var controller = StartCluster((Node1, drivers[0]), (Node2, drivers[1]), (Node3, drivers[2]));
        Apply(controller, Specs.Service(replicas: 6, extra: "resources: { cpu: 250m, memory: 64Mi }"));
        AwaitAssert(() => Assert.Equal([2, 2, 2], drivers.Select(d => d.Replicas.Count)), Settle);
        Assert.Equal((2, 500L, 128L << 20, NodeScheduling.Schedulable),
            (Summary(controller, Node2).Replicas, Summary(controller, Node2).UsedCpu.Millicores, Summary(controller, Node2).UsedMemory.Bytes, Summary(controller, Node2).Scheduling));

        var result = Node(controller, new NodeCommands.Drain(Node2, DateTimeOffset.UtcNow));

        Assert.Equal((CommandOutcome.Updated, NodeScheduling.Draining, "node node2 cordoned and draining"), (result.Outcome, result.Scheduling, result.Message));
        AwaitAssert(() =>
        {
            Assert.Empty(drivers[1].Replicas);
            Assert.Equal([3, 0, 3], drivers.Select(d => d.Replicas.Count));
            Assert.All(drivers.SelectMany(d => d.Replicas), r => Assert.Equal(ReplicaPhase.Running, r.Phase));
        }, Settle);
        var summary = Summary(controller, Node2);
        Assert.Equal((0, 0L, NodeScheduling.Draining), (summary.Replicas, summary.UsedCpu.Millicores, summary.Scheduling));
        Assert.Empty(summary.DrainBlockers);
        var events = Ask<ControllerProtocol.EventsResponse>(controller, new ControllerProtocol.GetEvents(1)).Events;
        Assert.Equal("drain-started", ClusterEvents.Kind(Assert.Single(events)));

        // Still drained a while later: nothing comes back to the node.
        Thread.Sleep(TimeSpan.FromMilliseconds(600));
        Assert.Empty(drivers[1].Replicas);
        Assert.Equal(6, drivers.Sum(d => d.Replicas.Count));
    }

    [Fact]
    public void The_replacement_is_healthy_before_the_old_replica_is_stopped()
    {
        var (driver1, driver2) = (new GatedReplicaDriver(Node1), new GatedReplicaDriver(Node2));
        var controller = StartCluster((Node1, driver1), (Node2, driver2));
        Apply(controller, Specs.Service(replicas: 2, extra: Health));
        AwaitAssert(() => Assert.Equal((1, 1), (driver1.Replicas.Count, driver2.Replicas.Count)), Settle);
        driver1.Release();
        driver2.Release();
        AwaitAssert(() => Assert.Equal(2, Ask<ControllerProtocol.ServicesResponse>(controller, new ControllerProtocol.GetServices()).Services.Single().Healthy), Settle);
        var old = driver1.Replicas.Single().Id;

        Node(controller, new NodeCommands.Drain(Node1, DateTimeOffset.UtcNow));

        AwaitAssert(() => Assert.Single(driver2.Replicas, r => r.Phase == ReplicaPhase.Starting), Settle);
        // Many reconcile ticks later the old replica still serves: its replacement is not healthy yet.
        Thread.Sleep(TimeSpan.FromMilliseconds(800));
        Assert.Equal(old, Assert.Single(driver1.Replicas).Id);
        Assert.Equal(2, driver2.Replicas.Count);
        Assert.Equal(1, Summary(controller, Node1).Replicas);

        driver2.Release();

        AwaitAssert(() => Assert.Empty(driver1.Replicas), Settle);
        Assert.Equal(2, driver2.Replicas.Count);
        Assert.All(driver2.Replicas, r => Assert.Equal(ReplicaPhase.Healthy, r.Phase));
        Assert.Single(driver1.Started);
        Assert.Equal(2, driver2.Started.Count);
    }

    [Fact]
    public void A_stateful_replica_is_stopped_before_its_replacement_starts()
    {
        var log = new ConcurrentQueue<string>();
        var (driver1, driver2) = (new RecordingDriver(Node1, log), new RecordingDriver(Node2, log));
        var controller = StartCluster((Node1, driver1), (Node2, driver2));
        Node(controller, new NodeCommands.Cordon(Node2, DateTimeOffset.UtcNow));
        Apply(controller, Specs.Service(replicas: 1, extra: "stateful: true"));
        AwaitAssert(() => Assert.Single(driver1.Inner.Replicas), Settle);
        var old = driver1.Inner.Replicas.Single().Id;
        Node(controller, new NodeCommands.Uncordon(Node2, DateTimeOffset.UtcNow));

        Node(controller, new NodeCommands.Drain(Node1, DateTimeOffset.UtcNow));

        AwaitAssert(() => Assert.Single(driver2.Inner.Replicas, r => r.Phase == ReplicaPhase.Running), Settle);
        Assert.Empty(driver1.Inner.Replicas);
        var lines = log.ToList();
        var stop = lines.IndexOf($"stop {old} on node1");
        var start = lines.FindIndex(l => l.StartsWith("start ", StringComparison.Ordinal) && l.EndsWith(" on node2", StringComparison.Ordinal));
        Assert.True(stop >= 0 && start > stop, string.Join(", ", lines));
        Assert.Equal(1, lines.Count(l => l.EndsWith(" on node2", StringComparison.Ordinal)));
    }

    [Fact]
    public void Cordon_keeps_new_replicas_off_and_uncordon_lets_them_back()
    {
        var (driver1, driver2) = (new InMemoryReplicaDriver(Node1), new InMemoryReplicaDriver(Node2));
        var controller = StartCluster((Node1, driver1), (Node2, driver2));
        Apply(controller, Specs.Service(replicas: 2));
        AwaitAssert(() => Assert.Equal((1, 1), (driver1.Replicas.Count, driver2.Replicas.Count)), Settle);

        var cordoned = Node(controller, new NodeCommands.Cordon(Node2, DateTimeOffset.UtcNow));
        var again = Node(controller, new NodeCommands.Cordon(Node2, DateTimeOffset.UtcNow));
        Apply(controller, Specs.Service(replicas: 5));

        Assert.Equal((CommandOutcome.Updated, CommandOutcome.Unchanged), (cordoned.Outcome, again.Outcome));
        AwaitAssert(() => Assert.Equal((4, 1), (driver1.Replicas.Count, driver2.Replicas.Count)), Settle);
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        Assert.Equal((4, 1), (driver1.Replicas.Count, driver2.Replicas.Count)); // cordon keeps, never moves
        Assert.Equal(NodeScheduling.Cordoned, Summary(controller, Node2).Scheduling);

        Node(controller, new NodeCommands.Uncordon(Node2, DateTimeOffset.UtcNow));
        Apply(controller, Specs.Service(replicas: 7));

        AwaitAssert(() => Assert.Equal((4, 3), (driver1.Replicas.Count, driver2.Replicas.Count)), Settle);
        Assert.Equal(NodeScheduling.Schedulable, Summary(controller, Node2).Scheduling);
    }

    [Fact]
    public void A_drain_that_cannot_finish_says_why_and_uncordon_ends_it()
    {
        var (driver1, driver2) = (new InMemoryReplicaDriver(Node1), new InMemoryReplicaDriver(Node2));
        var controller = StartCluster((Node1, driver1), (Node2, driver2));
        Node(controller, new NodeCommands.Cordon(Node2, DateTimeOffset.UtcNow));
        Apply(controller, Specs.Service(replicas: 1));
        AwaitAssert(() => Assert.Single(driver1.Replicas), Settle);
        var stuck = driver1.Replicas.Single().Id;

        Node(controller, new NodeCommands.Drain(Node1, DateTimeOffset.UtcNow));

        AwaitAssert(() =>
        {
            var blocker = Assert.Single(Summary(controller, Node1).DrainBlockers);
            Assert.StartsWith($"cannot move {stuck}: ", blocker, StringComparison.Ordinal);
            Assert.Contains("node2: cordoned", blocker, StringComparison.Ordinal);
        }, Settle);
        Assert.Single(driver1.Replicas);
        Assert.Empty(driver2.Replicas);

        var uncordoned = Node(controller, new NodeCommands.Uncordon(Node1, DateTimeOffset.UtcNow));

        Assert.Equal("node node1 uncordoned (drain stopped)", uncordoned.Message);
        AwaitAssert(() => Assert.Empty(Summary(controller, Node1).DrainBlockers), Settle);
        Assert.Equal(stuck, driver1.Replicas.Single().Id);
    }

    [Fact]
    public void An_unknown_node_is_refused_with_the_known_ones()
    {
        var controller = StartCluster((Node1, new InMemoryReplicaDriver(Node1)));

        var result = Node(controller, new NodeCommands.Drain(NodeName.Parse("nodex"), DateTimeOffset.UtcNow));

        Assert.Equal((CommandOutcome.NotFound, "node nodex not found (known nodes: node1)"), (result.Outcome, result.Message));
        Assert.Empty(Ask<ControllerProtocol.EventsResponse>(controller, new ControllerProtocol.GetEvents(10)).Events);
    }

    [Fact]
    public void Cordon_and_drain_survive_a_controller_restart()
    {
        var first = Sys.ActorOf(ClusterController.Props(Settings));
        var probe = CreateTestProbe();
        foreach (var node in new[] { Node1, Node2, Node3 })
        {
            first.Tell(new AgentProtocol.NodeInventory(Status(node), []), probe);
        }
        AwaitAssert(() => Assert.Equal(3, Ask<ControllerProtocol.NodesResponse>(first, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);
        Node(first, new NodeCommands.Cordon(Node1, DateTimeOffset.UtcNow));
        Node(first, new NodeCommands.Drain(Node2, DateTimeOffset.UtcNow));
        Watch(first);
        Sys.Stop(first);
        ExpectTerminated(first);

        var (driver1, driver2, driver3) = (new InMemoryReplicaDriver(Node1), new InMemoryReplicaDriver(Node2), new InMemoryReplicaDriver(Node3));
        var second = StartAgents(Sys.ActorOf(ClusterController.Props(Settings)), (Node1, driver1), (Node2, driver2), (Node3, driver3));
        Apply(second, Specs.Service(replicas: 3));

        AwaitAssert(() => Assert.Equal((0, 0, 3), (driver1.Replicas.Count, driver2.Replicas.Count, driver3.Replicas.Count)), Settle);
        Assert.Equal(NodeScheduling.Cordoned, Summary(second, Node1).Scheduling);
        Assert.Equal(NodeScheduling.Draining, Summary(second, Node2).Scheduling);
        var kinds = Ask<ControllerProtocol.EventsResponse>(second, new ControllerProtocol.GetEvents(10)).Events.Select(ClusterEvents.Kind);
        Assert.Equal(["cordoned", "drain-started", "applied"], kinds);
    }

    /// <summary>RecordingDriver is the in-memory driver that logs every start and stop, in order, to a log shared by nodes.</summary>
    private sealed class RecordingDriver(NodeName node, ConcurrentQueue<string> log) : IReplicaDriver
    {
        public InMemoryReplicaDriver Inner { get; } = new(node);

        public string Name => "recording";

        public Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken) => Inner.AdoptAsync(cancellationToken);

        public Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken)
        {
            log.Enqueue($"start {request.Id} on {node}");
            return Inner.StartAsync(request, cancellationToken);
        }

        public Task StopAsync(ReplicaId id, CancellationToken cancellationToken)
        {
            log.Enqueue($"stop {id} on {node}");
            return Inner.StopAsync(id, cancellationToken);
        }

        public IDisposable Subscribe(IReplicaObserver observer) => Inner.Subscribe(observer);
    }
}
