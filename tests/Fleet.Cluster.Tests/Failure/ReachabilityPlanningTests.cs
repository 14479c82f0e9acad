using System.Text.Json;
using Fleet.Cluster.Control;
using Fleet.Cluster.Serialization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using NodeStatus = Fleet.Core.State.NodeStatus;

namespace Fleet.Cluster.Tests.Failure;

/// <summary>What the planner does with the replicas of an unreachable or a down node, and the reachability on the wire.</summary>
public sealed class ReachabilityPlanningTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");

    private static NodeStatus Node(NodeName name) =>
        new(name, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "0.1.0", T0);

    private static ReplicaStatus Running(string id, NodeName node) =>
        new(ReplicaId.Parse(id), node, 1, ReplicaPhase.Running, ReplicaHealth.None, null, T0, 0, null);

    private static ReplicaPlan PlanWith(NodeReachability node2)
    {
        var desired = DesiredState.Empty;
        foreach (var spec in new[] { Specs.Service("web", 2), Specs.Service("db", 1, extra: "stateful: true") })
        {
            desired = desired.ApplyAll(desired.Decide(new ServiceCommands.Apply(spec, T0)).Events);
        }
        var observed = ObservedState.Empty
            .WithInventory(Node(Node1), [Running("web-aaaaa", Node1)])
            .WithInventory(Node(Node2), [Running("web-bbbbb", Node2), Running("db-ccccc", Node2)])
            .WithReachability(Node2, node2, T0);
        return new SchedulingPlanner().Plan(
            new PlanInput(desired, observed, new Dictionary<ReplicaId, PendingStart>(), [Node1, Node2], new HashSet<ReplicaId>(), T0),
            new Random(1));
    }

    [Fact]
    public void A_reachable_node_keeps_everything()
    {
        Assert.Empty(PlanWith(NodeReachability.Up).Actions);
    }

    [Fact]
    public void On_an_unreachable_node_the_stateless_replica_is_replaced_at_once_and_the_stateful_one_waits()
    {
        var plan = PlanWith(NodeReachability.Unreachable);

        var start = Assert.Single(plan.Actions.OfType<StartOn>());
        Assert.Equal(("web", Node1, "web-bbbbb"), (start.Id.Service.Value, start.Node, start.Replaces?.ToString()));
        Assert.DoesNotContain(plan.Actions, a => a is StartOn { Spec.Stateful: true });
        Assert.Contains(plan.Deferred, d => d.Replica.ToString() == "db-ccccc");
    }

    [Fact]
    public void On_a_down_node_the_stateful_replica_is_replaced_too()
    {
        var plan = PlanWith(NodeReachability.Down);

        var starts = plan.Actions.OfType<StartOn>().OrderBy(s => s.Id.Service.Value, StringComparer.Ordinal).ToList();
        Assert.Equal(["db", "web"], starts.Select(s => s.Id.Service.Value));
        Assert.All(starts, s => Assert.Equal(Node1, s.Node));
        Assert.Equal("db-ccccc", starts[0].Replaces?.ToString());
    }

    [Fact]
    public void Reachability_is_kept_by_WithReachability_and_reset_by_nothing_an_agent_says()
    {
        var observed = ObservedState.Empty.WithInventory(Node(Node2), [Running("web-bbbbb", Node2)])
            .WithReachability(Node2, NodeReachability.Unreachable, T0);
        Assert.Equal(NodeReachability.Unreachable, observed.Nodes["node2"].Reachability);
        Assert.Equal(T0, observed.Nodes["node2"].ReachabilitySince);
        Assert.Single(observed.Replicas); // the planner decides what becomes of them
        Assert.Same(observed, observed.WithReachability(NodeName.Parse("nobody"), NodeReachability.Down, T0));
    }

    [Fact]
    public void Nodes_response_round_trips_with_reachability()
    {
        var serializer = new FleetSerializer(null!);
        var response = new ControllerProtocol.NodesResponse([
            Node(Node1),
            Node(Node2) with { Reachability = NodeReachability.Unreachable, ReachabilitySince = T0 },
        ]);

        var back = (ControllerProtocol.NodesResponse)serializer.FromBinary(serializer.ToBinary(response), serializer.Manifest(response));

        Assert.Equal([NodeReachability.Up, NodeReachability.Unreachable], back.Nodes.Select(n => n.Reachability));
        Assert.Equal([null, T0], back.Nodes.Select(n => n.ReachabilitySince));
        Assert.Contains("\"reachability\":\"unreachable\"", System.Text.Encoding.UTF8.GetString(serializer.ToBinary(response)), StringComparison.Ordinal);
    }

    [Fact]
    public void An_inventory_written_before_reachability_existed_reads_as_up()
    {
        var json = JsonSerializer.Serialize(Node(Node1), FleetJson.Options).Replace(",\"reachability\":\"up\"", "", StringComparison.Ordinal);
        Assert.DoesNotContain("reachability", json, StringComparison.Ordinal);
        Assert.Equal(NodeReachability.Up, JsonSerializer.Deserialize<NodeStatus>(json, FleetJson.Options)!.Reachability);
    }
}
