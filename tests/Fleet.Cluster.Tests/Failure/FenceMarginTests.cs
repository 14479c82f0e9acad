using Fleet.Cluster.Control;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using NodeStatus = Fleet.Core.State.NodeStatus;

namespace Fleet.Cluster.Tests.Failure;

/// <summary>
/// The fence margin: a node that turned Down keeps its stateful replica for
/// <see cref="ControllerSettings.FenceMargin"/> (the time the cut-off node needs to down itself
/// and stop it), so the replacement never runs beside it; stateless replicas do not wait.
/// </summary>
public sealed class FenceMarginTests
{
    private static readonly DateTimeOffset DownAt = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(15);
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");

    private static NodeStatus Node(NodeName name) =>
        new(name, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", DownAt);

    private static ReplicaStatus Running(string id, NodeName node) =>
        new(ReplicaId.Parse(id), node, 1, ReplicaPhase.Running, ReplicaHealth.None, null, DownAt, 0, null);

    /// <summary>PlanAt plans web (2, stateless) and db (1, stateful) with node2 Down since <see cref="DownAt"/>, at <paramref name="now"/>.</summary>
    private static ReplicaPlan PlanAt(DateTimeOffset now, TimeSpan margin, NodeReachability node2 = NodeReachability.Down)
    {
        var desired = DesiredState.Empty;
        foreach (var spec in new[] { Specs.Service("web", 2), Specs.Service("db", 1, extra: "stateful: true") })
        {
            desired = desired.ApplyAll(desired.Decide(new ServiceCommands.Apply(spec, DownAt)).Events);
        }
        var observed = ObservedState.Empty
            .WithInventory(Node(Node1), [Running("web-aaaaa", Node1)])
            .WithInventory(Node(Node2), [Running("web-bbbbb", Node2), Running("db-ccccc", Node2)])
            .WithReachability(Node2, node2, DownAt);
        return new SchedulingPlanner().Plan(
            new PlanInput(desired, observed, new Dictionary<ReplicaId, PendingStart>(), [Node1, Node2], new HashSet<ReplicaId>(), now) { FenceMargin = margin },
            new Random(1));
    }

    private static IReadOnlyList<string> Started(ReplicaPlan plan) =>
        plan.Actions.OfType<StartOn>().Select(s => $"{s.Id.Service}@{s.Node} for {s.Replaces}").Order(StringComparer.Ordinal).ToList();

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(14.9)]
    public void Within_the_margin_a_down_nodes_stateful_replica_waits_and_its_stateless_one_is_replaced(double secondsAfterDown)
    {
        var plan = PlanAt(DownAt + TimeSpan.FromSeconds(secondsAfterDown), Margin);

        Assert.Equal(["web@node1 for web-bbbbb"], Started(plan));
        Assert.Contains(plan.Deferred, d => d.Replica.ToString() == "db-ccccc");
        Assert.DoesNotContain(plan.Actions, a => a is StopOn { Id: var id } && id.ToString() == "db-ccccc");
    }

    [Theory]
    [InlineData(15)]
    [InlineData(60)]
    public void Once_the_margin_has_passed_the_stateful_replica_is_replaced_too(double secondsAfterDown)
    {
        var plan = PlanAt(DownAt + TimeSpan.FromSeconds(secondsAfterDown), Margin);

        Assert.Equal(["db@node1 for db-ccccc", "web@node1 for web-bbbbb"], Started(plan));
    }

    [Fact]
    public void No_margin_replaces_the_stateful_replica_at_down()
    {
        Assert.Equal(["db@node1 for db-ccccc", "web@node1 for web-bbbbb"], Started(PlanAt(DownAt, TimeSpan.Zero)));
    }

    [Fact]
    public void The_margin_counts_from_down_not_from_unreachable()
    {
        // Unreachable for a long time: still unreachable, the stateful replica waits for Down.
        var plan = PlanAt(DownAt + TimeSpan.FromMinutes(5), Margin, NodeReachability.Unreachable);

        Assert.Equal(["web@node1 for web-bbbbb"], Started(plan));
    }

    [Fact]
    public void StatusOf_maps_down_within_the_margin_to_unreachable()
    {
        var down = Node(Node2) with { Reachability = NodeReachability.Down, ReachabilitySince = DownAt };
        Assert.Equal(Fleet.Scheduling.Model.NodeStatus.Unreachable, SchedulingPlanner.StatusOf(down, DownAt + TimeSpan.FromSeconds(3), Margin));
        Assert.Equal(Fleet.Scheduling.Model.NodeStatus.Down, SchedulingPlanner.StatusOf(down, DownAt + Margin, Margin));
        // Down with no time known (never the controller's own doing): down at once.
        Assert.Equal(Fleet.Scheduling.Model.NodeStatus.Down, SchedulingPlanner.StatusOf(down with { ReachabilitySince = null }, DownAt, Margin));
        Assert.Equal(Fleet.Scheduling.Model.NodeStatus.Ready, SchedulingPlanner.StatusOf(Node(Node1), DownAt, Margin));
    }

    [Fact]
    public void The_default_margin_is_15_seconds_longer_than_the_reconcile_interval()
    {
        Assert.Equal(TimeSpan.FromSeconds(15), new ControllerSettings().FenceMargin);
        Assert.True(new ControllerSettings().ReconcileInterval < new ControllerSettings().FenceMargin); // the periodic pass notices the margin passing
    }
}
