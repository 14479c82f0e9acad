using Fleet.Cluster.Control;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using NodeStatus = Fleet.Core.State.NodeStatus;
using SchedulingNodeStatus = Fleet.Scheduling.Model.NodeStatus;

namespace Fleet.Cluster.Tests.Control;

/// <summary>What the planner makes of declared node scheduling and of moves in flight, without actors.</summary>
public sealed class DrainPlanningTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly NodeName[] Nodes = [Node1, Node2];

    private static NodeStatus Node(NodeName name) =>
        new(name, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", T0);

    private static ReplicaStatus Replica(string id, NodeName node, ReplicaPhase phase = ReplicaPhase.Running) =>
        new(ReplicaId.Parse(id), node, 1, phase, ReplicaHealth.None, null, T0, 0, null);

    private static DesiredState Desired(ServiceSpec spec, params INodeCommand[] commands)
    {
        var state = DesiredState.Empty.ApplyAll(DesiredState.Empty.Decide(new ServiceCommands.Apply(spec, T0)).Events);
        foreach (var command in commands)
        {
            state = state.ApplyAll(state.DecideNode(command, Nodes).Events);
        }
        return state;
    }

    private static ReplicaPlan Plan(DesiredState desired, IReadOnlyDictionary<ReplicaId, MigrationInFlight>? migrations, params ReplicaStatus[] replicas)
    {
        var observed = ObservedState.Empty;
        foreach (var node in Nodes)
        {
            observed = observed.WithInventory(Node(node), replicas.Where(r => r.Node == node));
        }
        var input = new PlanInput(desired, observed, new Dictionary<ReplicaId, PendingStart>(), Nodes, new HashSet<ReplicaId>(), T0)
        {
            Migrations = migrations ?? new Dictionary<ReplicaId, MigrationInFlight>(),
        };
        return new SchedulingPlanner().Plan(input, new Random(3));
    }

    [Theory]
    [InlineData(NodeScheduling.Schedulable, SchedulingNodeStatus.Ready)]
    [InlineData(NodeScheduling.Cordoned, SchedulingNodeStatus.Cordoned)]
    [InlineData(NodeScheduling.Draining, SchedulingNodeStatus.Draining)]
    public void Declared_scheduling_maps_to_the_schedulers_node_status(NodeScheduling declared, SchedulingNodeStatus expected) =>
        Assert.Equal(expected, SchedulingPlanner.Declared(declared));

    [Fact]
    public void A_cordoned_node_gets_no_new_replica()
    {
        var plan = Plan(Desired(Specs.Service(replicas: 3), new NodeCommands.Cordon(Node2, T0)), null);

        Assert.All(plan.Actions.OfType<StartOn>(), s => Assert.Equal(Node1, s.Node));
        Assert.Equal(3, plan.Actions.OfType<StartOn>().Count());
    }

    [Fact]
    public void A_replica_on_a_draining_node_is_moved_under_a_new_id_with_its_spec()
    {
        var plan = Plan(Desired(Specs.Service(replicas: 1), new NodeCommands.Drain(Node1, T0)), null, Replica("web-aaaaa", Node1));

        var move = Assert.Single(plan.Actions.OfType<MigrateOn>());
        Assert.Equal((ReplicaId.Parse("web-aaaaa"), Node1, Node2, false), (move.Id, move.From, move.To, move.Stateful));
        Assert.NotEqual(move.Id, move.Replacement);
        Assert.Equal(move.Id.Service, move.Replacement.Service);
        Assert.Single(plan.Actions); // no stop, no extra start: the controller carries the move out
    }

    [Fact]
    public void While_a_move_is_in_flight_nothing_else_is_planned_for_the_replica()
    {
        var desired = Desired(Specs.Service(replicas: 1), new NodeCommands.Drain(Node1, T0));
        var migrations = new Dictionary<ReplicaId, MigrationInFlight> { [ReplicaId.Parse("web-aaaaa")] = new(Node2, ReplicaId.Parse("web-bbbbb"), false) };

        // The replacement runs (not yet healthy) beside the old one: no surplus stop, no second move.
        var plan = Plan(desired, migrations, Replica("web-aaaaa", Node1), Replica("web-bbbbb", Node2, ReplicaPhase.Starting));

        Assert.Empty(plan.Actions);
        Assert.Empty(plan.Unschedulable);
    }

    [Fact]
    public void A_stateful_replica_being_stopped_for_its_move_is_not_replaced_meanwhile()
    {
        var desired = Desired(Specs.Service(replicas: 1, extra: "stateful: true"), new NodeCommands.Drain(Node1, T0));
        var migrations = new Dictionary<ReplicaId, MigrationInFlight> { [ReplicaId.Parse("web-aaaaa")] = new(Node2, ReplicaId.Parse("web-bbbbb"), true) };

        var plan = Plan(desired, migrations, Replica("web-aaaaa", Node1, ReplicaPhase.Stopping));

        Assert.Empty(plan.Actions);
    }

    [Fact]
    public void A_failed_replica_on_a_draining_node_is_replaced_elsewhere_so_the_drain_ends()
    {
        var plan = Plan(Desired(Specs.Service(replicas: 1), new NodeCommands.Drain(Node1, T0)), null, Replica("web-aaaaa", Node1, ReplicaPhase.Failed));

        Assert.Equal(ReplicaId.Parse("web-aaaaa"), Assert.Single(plan.Actions.OfType<StopOn>()).Id);
        Assert.Equal(Node2, Assert.Single(plan.Actions.OfType<StartOn>()).Node);
    }

    [Fact]
    public void A_move_no_node_can_take_is_unschedulable_with_the_replica()
    {
        var desired = Desired(Specs.Service(replicas: 1), new NodeCommands.Cordon(Node2, T0), new NodeCommands.Drain(Node1, T0));

        var plan = Plan(desired, null, Replica("web-aaaaa", Node1));

        Assert.Empty(plan.Actions);
        var stuck = Assert.Single(plan.Unschedulable);
        Assert.Equal(ReplicaId.Parse("web-aaaaa"), stuck.Replica);
        Assert.Contains(stuck.Reasons, r => r.ToString() == "node2: cordoned");
    }
}
