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
/// Rebalancing through the controller with the scheduler and real node agents over in-memory
/// drivers: a node that joins gets its share after the settle delay, in rounds of at most
/// maxConcurrent moves, each journaled with its reason; `fleetctl rebalance` plans (dry run) and
/// carries out; `enabled: false` and stateful services are left alone; moves that keep failing
/// end the rebalance after three.
/// </summary>
public sealed class RebalanceTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly NodeName Node3 = NodeName.Parse("node3");
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(30);

    public RebalanceTests()
        : base(ActorSystemSetup.Create(FleetSerialization.Setup()))
    {
    }

    private static ControllerSettings Settings(RebalanceSettings rebalance) => new()
    {
        Seed = 7,
        ReconcileInterval = TimeSpan.FromMilliseconds(100),
        Rebalance = rebalance,
    };

    private void StartAgent(IActorRef controller, NodeName node, IReplicaDriver driver) =>
        Sys.ActorOf(NodeAgent.Props(new AgentSettings(Status(node), TimeSpan.FromMilliseconds(300)), driver, controller));

    private static NodeStatus Status(NodeName node) =>
        new(node, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DateTimeOffset.UtcNow)
        {
            AllocatableCpu = new CpuQuantity(2000),
            AllocatableMemory = new ByteSize(1L << 30),
        };

    private static T Ask<T>(IActorRef controller, object message) => controller.Ask<T>(message, TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();

    /// <summary>TwoNodesWithSix starts the controller and two agents running 6 replicas of web (3/3) and returns the drivers, node3's not started yet.</summary>
    private (IActorRef Controller, InMemoryReplicaDriver[] Drivers) TwoNodesWithSix(RebalanceSettings rebalance, string extra = "")
    {
        var controller = Sys.ActorOf(ClusterController.Props(Settings(rebalance)));
        var drivers = new[] { Node1, Node2, Node3 }.Select(n => new InMemoryReplicaDriver(n)).ToArray();
        StartAgent(controller, Node1, drivers[0]);
        StartAgent(controller, Node2, drivers[1]);
        AwaitAssert(() => Assert.Equal(2, Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);
        Ask<CommandResult>(controller, new ServiceCommands.Apply(Specs.Service(replicas: 6, extra: extra), DateTimeOffset.UtcNow));
        AwaitAssert(() => Assert.Equal([3, 3, 0], Counts(drivers)), Settle);
        return (controller, drivers);
    }

    private static int[] Counts(InMemoryReplicaDriver[] drivers) =>
        [.. drivers.Select(d => d.Replicas.Count(r => r.Phase is ReplicaPhase.Running or ReplicaPhase.Healthy))];

    private static List<RebalanceEvents.ReplicaRebalanced> Rebalanced(IActorRef controller) =>
        [.. Ask<ControllerProtocol.EventsResponse>(controller, new ControllerProtocol.GetEvents(100)).Events.OfType<RebalanceEvents.ReplicaRebalanced>()];

    [Fact]
    public void A_joining_node_gets_its_share_after_the_settle_delay_with_each_move_journaled()
    {
        var (controller, drivers) = TwoNodesWithSix(new RebalanceSettings { SettleDelay = TimeSpan.FromSeconds(1) });

        StartAgent(controller, Node3, drivers[2]);

        // Within the settle delay nothing moves.
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        Assert.Equal([3, 3, 0], Counts(drivers));
        AwaitAssert(() => Assert.Equal([2, 2, 2], Counts(drivers)), Settle);
        AwaitAssert(() => Assert.Equal(6, drivers.Sum(d => d.Replicas.Count)), Settle);
        var events = Rebalanced(controller);
        Assert.Equal(2, events.Count);
        Assert.All(events, e => Assert.Equal((Node3, "node node3 joined"), (e.To, e.Trigger)));
        Assert.Equal(["node1", "node2"], events.Select(e => e.From.Value).Order(StringComparer.Ordinal));
        Assert.Matches(@"^rebalance: web-[a-z0-9]+ node[12] → node3: spread: node[12] has 3 of web, node3 has [01] \(node node3 joined\)$", ClusterEvents.Describe(events[0]));
        AwaitAssert(() => Assert.False(Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.GetRebalance()).InProgress), Settle);
        var status = Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.GetRebalance());
        Assert.Equal(2, status.Moves.Count);
        Assert.All(status.Moves, m => Assert.Equal(RebalanceProtocol.MoveState.Done, m.State));

        // Balanced: nothing more moves, and a dry run says why.
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        Assert.Equal(2, Rebalanced(controller).Count);
        var dry = Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.Rebalance(DryRun: true, DateTimeOffset.UtcNow));
        Assert.Empty(dry.Moves);
        Assert.StartsWith("balanced: ", Assert.Single(dry.Notes), StringComparison.Ordinal);
    }

    [Fact]
    public void With_rebalancing_disabled_a_join_moves_nothing_until_asked_and_a_dry_run_moves_nothing()
    {
        var (controller, drivers) = TwoNodesWithSix(new RebalanceSettings { Enabled = false, SettleDelay = TimeSpan.Zero, MaxConcurrent = 1 });
        StartAgent(controller, Node3, drivers[2]);
        AwaitAssert(() => Assert.Equal(3, Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);
        Thread.Sleep(TimeSpan.FromMilliseconds(800));
        Assert.Equal([3, 3, 0], Counts(drivers));

        var dry = Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.Rebalance(DryRun: true, DateTimeOffset.UtcNow));

        var planned = Assert.Single(dry.Moves); // maxConcurrent 1
        Assert.Equal((Node3, RebalanceProtocol.MoveState.Planned, (ReplicaId?)null), (planned.To, planned.State, planned.Replacement));
        Assert.StartsWith("spread: node", planned.Reason, StringComparison.Ordinal);
        Thread.Sleep(TimeSpan.FromMilliseconds(500));
        Assert.Equal([3, 3, 0], Counts(drivers));
        Assert.Empty(Rebalanced(controller));

        var started = Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.Rebalance(DryRun: false, DateTimeOffset.UtcNow));

        Assert.True(started.InProgress);
        Assert.Equal("requested by fleetctl rebalance", started.Trigger);
        AwaitAssert(() => Assert.Equal([2, 2, 2], Counts(drivers)), Settle);
        AwaitAssert(() => Assert.False(Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.GetRebalance()).InProgress), Settle);
        Assert.Equal(2, Rebalanced(controller).Count);
    }

    [Fact]
    public void Stateful_replicas_stay_unless_the_setting_allows_them_to_move()
    {
        var (controller, drivers) = TwoNodesWithSix(new RebalanceSettings { SettleDelay = TimeSpan.Zero }, extra: "stateful: true\n");

        StartAgent(controller, Node3, drivers[2]);
        AwaitAssert(() => Assert.Equal(3, Ask<ControllerProtocol.NodesResponse>(controller, new ControllerProtocol.GetNodes()).Nodes.Count), Settle);
        Thread.Sleep(TimeSpan.FromMilliseconds(800));

        Assert.Equal([3, 3, 0], Counts(drivers));
        Assert.Empty(Rebalanced(controller));
        Assert.Empty(Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.Rebalance(DryRun: true, DateTimeOffset.UtcNow)).Moves);
    }

    [Fact]
    public void Moves_whose_replacement_keeps_failing_end_the_rebalance_after_three()
    {
        var (controller, drivers) = TwoNodesWithSix(new RebalanceSettings { SettleDelay = TimeSpan.Zero });
        var failing = new InMemoryReplicaDriver(Node3) { FailStartsWith = "pull: manifest unknown" };

        StartAgent(controller, Node3, failing);

        AwaitAssert(() => Assert.True(failing.Starts > 0), Settle);
        AwaitAssert(() => Assert.False(Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.GetRebalance()).InProgress), Settle);
        var status = Ask<RebalanceProtocol.RebalanceResponse>(controller, new RebalanceProtocol.GetRebalance());
        Assert.Equal(3, status.Moves.Count);
        Assert.All(status.Moves, m => Assert.Equal(RebalanceProtocol.MoveState.GivenUp, m.State));
        Thread.Sleep(TimeSpan.FromMilliseconds(800));
        Assert.Equal(3, failing.Starts);
        Assert.Equal(3, Rebalanced(controller).Count);
        Assert.Equal(6, drivers[0].Replicas.Count + drivers[1].Replicas.Count); // the originals stayed
    }
}
