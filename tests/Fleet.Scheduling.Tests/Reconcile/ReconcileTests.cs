using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Reconcile;

public sealed class ReconcileTests
{
    private static Harness ThreeNodes()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.AddNode("node3");
        return h;
    }

    [Fact]
    public void Missing_replicas_are_placed_and_the_plan_is_recorded()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));

        h.Schedule();

        Assert.Single(h.Plans);
        Assert.Equal(3, h.Plans[0].Places.Count());
        Assert.All(h.Plans[0].Places, p => Assert.StartsWith("missing:", p.Reason, StringComparison.Ordinal));
        Assert.Equal(3, h.ReplicasOf("web").Count);
    }

    [Fact]
    public void Converged_cluster_plans_nothing()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();

        var plan = h.Schedule();

        Assert.True(plan.IsEmpty);
        Assert.Equal("nothing to do\n", plan.Describe());
    }

    [Theory]
    [InlineData(5, 2, 3)]
    [InlineData(3, 0, 3)]
    public void Surplus_replicas_are_stopped_down_to_the_count(int running, int wanted, int expectedStops)
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: wanted));
        for (var i = 0; i < running; i++)
        {
            h.AddReplica(Replica($"web-r{i}", $"node{(i % 3) + 1}"));
        }

        var plan = h.Schedule();

        Assert.Equal(expectedStops, plan.Stops.Count());
        Assert.All(plan.Stops, s => Assert.StartsWith("surplus", s.Reason, StringComparison.Ordinal));
        Assert.Equal(wanted, h.ReplicasOf("web").Count);
    }

    [Fact]
    public void Surplus_stops_the_replica_on_the_most_crowded_node_first()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.AddReplica(Replica("web-aaaaa", "node1"));
        h.AddReplica(Replica("web-bbbbb", "node2"));
        h.AddReplica(Replica("web-ccccc", "node2"));
        h.AddReplica(Replica("web-ddddd", "node3"));

        var plan = h.Schedule();

        Assert.Equal("node2", Assert.Single(plan.Stops).Node.Value);
    }

    [Fact]
    public void Surplus_stops_unhealthy_replicas_before_healthy_ones()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 2, health: true));
        h.AddReplica(Replica("web-aaaaa", "node1"));
        h.AddReplica(Replica("web-bbbbb", "node2", ReplicaState.Starting));
        h.AddReplica(Replica("web-ccccc", "node3"));

        var plan = h.Schedule();

        Assert.Equal("web-bbbbb", Assert.Single(plan.Stops).Replica.ToString());
    }

    [Fact]
    public void Stateless_replica_on_an_unreachable_node_is_replaced_at_once()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        var lost = h.ReplicasOf("web").Single(r => r.Node.Value == "node3").Id;
        h.SetNodeStatus("node3", NodeStatus.Unreachable);

        var plan = h.Schedule();

        var place = Assert.Single(plan.Places);
        Assert.NotEqual("node3", place.Node.Value);
        Assert.Equal(lost, place.Replaces);
        Assert.Empty(plan.Stops);
        Assert.True(h.Replica(lost).Superseded);
    }

    [Fact]
    public void Replaced_replica_that_comes_back_with_its_node_is_stopped()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        var lost = h.ReplicasOf("web").Single(r => r.Node.Value == "node3").Id;
        h.SetNodeStatus("node3", NodeStatus.Unreachable);
        h.Converge();

        h.SetNodeStatus("node3", NodeStatus.Ready);
        var plan = h.Schedule();

        var stop = Assert.Single(plan.Stops);
        Assert.Equal(lost, stop.Replica);
        Assert.Contains("came back on node3", stop.Reason, StringComparison.Ordinal);
        Assert.Empty(plan.Places);
        Assert.Equal(3, h.ReplicasOf("web").Count);
    }

    [Fact]
    public void Stateful_replica_on_an_unreachable_node_is_not_replaced_until_the_node_is_down()
    {
        var h = ThreeNodes();
        h.Deploy(Service("db", replicas: 1, stateful: true));
        h.Converge();
        var original = Assert.Single(h.ReplicasOf("db"));
        h.SetNodeStatus(original.Node.Value, NodeStatus.Unreachable);

        var waiting = h.Schedule();

        Assert.True(waiting.IsEmpty);
        Assert.Contains("replaced only once the node is down", Assert.Single(waiting.Deferred).Reason, StringComparison.Ordinal);

        h.SetNodeStatus(original.Node.Value, NodeStatus.Down);
        var replaced = h.Schedule();

        var place = Assert.Single(replaced.Places);
        Assert.Equal(original.Id, place.Replaces);
        Assert.NotEqual(original.Node, place.Node);
        Assert.Equal(original.Id, Assert.Single(replaced.Stops).Replica);
    }

    [Fact]
    public void Stateful_service_never_has_two_copies_through_an_unreachable_node_and_back()
    {
        var h = ThreeNodes();
        h.Deploy(Service("db", replicas: 2, stateful: true));
        h.Converge();
        var node = h.ReplicasOf("db")[0].Node.Value;

        foreach (var status in new[] { NodeStatus.Unreachable, NodeStatus.Unreachable, NodeStatus.Ready })
        {
            h.SetNodeStatus(node, status);
            h.Schedule();
            h.MarkAll();
            Assert.True(h.ReplicasOf("db").Count(r => !r.Superseded) <= 2);
        }
        Assert.Equal(2, h.ReplicasOf("db").Count);
    }

    [Fact]
    public void Replicas_on_a_down_node_are_replaced_and_forgotten()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        h.SetNodeStatus("node2", NodeStatus.Down);

        var plan = h.Schedule();

        Assert.Single(plan.Stops);
        Assert.Single(plan.Places);
        Assert.Equal(0, h.CountOn("node2"));
        Assert.Equal(3, h.ReplicasOf("web").Count);
    }

    [Fact]
    public void Replica_on_a_node_that_left_the_cluster_is_treated_as_down()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        h.RemoveNode("node1");

        var plan = h.Schedule();

        Assert.Contains("node1 is down", Assert.Single(plan.Stops).Reason, StringComparison.Ordinal);
        Assert.NotEqual("node1", Assert.Single(plan.Places).Node.Value);
    }

    [Theory]
    [InlineData(RestartPolicy.Always, ReplicaState.Exited, true)]
    [InlineData(RestartPolicy.Always, ReplicaState.Failed, true)]
    [InlineData(RestartPolicy.OnFailure, ReplicaState.Exited, false)]
    [InlineData(RestartPolicy.OnFailure, ReplicaState.Failed, true)]
    [InlineData(RestartPolicy.Never, ReplicaState.Failed, false)]
    public void Terminal_replica_is_replaced_according_to_the_restart_policy(RestartPolicy policy, ReplicaState state, bool replaced)
    {
        var h = ThreeNodes();
        h.Deploy(Service("job", replicas: 1, restart: policy));
        h.AddReplica(Replica("job-aaaaa", "node1", state));

        var plan = h.Schedule();

        Assert.Equal(replaced, plan.Places.Any());
        Assert.Equal(replaced, plan.Stops.Any(s => s.Replica == Id("job-aaaaa")));
    }

    [Theory]
    [InlineData(RestartPolicy.Always, ReplicaState.Exited)]
    [InlineData(RestartPolicy.Always, ReplicaState.Failed)]
    [InlineData(RestartPolicy.OnFailure, ReplicaState.Failed)]
    [InlineData(RestartPolicy.Never, ReplicaState.Failed)]
    public void With_restarts_on_the_node_a_terminal_replica_keeps_its_slot(RestartPolicy policy, ReplicaState state)
    {
        var h = ThreeNodes();
        h.RestartsOnNode = true;
        h.Deploy(Service("job", replicas: 2, restart: policy));
        h.AddReplica(Replica("job-aaaaa", "node1", state));
        h.AddReplica(Replica("job-bbbbb", "node2"));

        var plan = h.Schedule();
        var again = h.Schedule();

        Assert.True(plan.IsEmpty, plan.Describe());
        Assert.True(again.IsEmpty, again.Describe());
    }

    [Theory]
    [InlineData(RestartPolicy.Always, ReplicaState.Failed, false)]
    [InlineData(RestartPolicy.Always, ReplicaState.Failed, true)]
    [InlineData(RestartPolicy.Never, ReplicaState.Failed, false)]
    [InlineData(RestartPolicy.Never, ReplicaState.Exited, true)]
    [InlineData(RestartPolicy.OnFailure, ReplicaState.Exited, false)]
    public void A_terminal_replica_of_an_older_generation_is_replaced_by_the_new_spec(RestartPolicy policy, ReplicaState state, bool restartsOnNode)
    {
        var h = ThreeNodes();
        h.RestartsOnNode = restartsOnNode;
        h.Deploy(Service("job", replicas: 1, restart: policy, image: "busybox:nope"));
        h.AddReplica(Replica("job-aaaaa", "node1", state));
        h.Deploy(Service("job", replicas: 1, restart: policy));

        var plan = h.Schedule();

        Assert.Equal(Id("job-aaaaa"), Assert.Single(plan.Stops).Replica);
        Assert.StartsWith("rolling update: " + state.ToString().ToLowerInvariant() + " replica of generation 1 → 2", Assert.Single(plan.Stops).Reason, StringComparison.Ordinal);
        var place = Assert.Single(plan.Places);
        Assert.Equal((Id("job-aaaaa"), 2L), (place.Replaces, place.Generation));
    }

    [Fact]
    public void Replica_lost_by_its_agent_is_stopped_and_replaced()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 1));
        h.AddReplica(Replica("web-aaaaa", "node1", ReplicaState.Lost));

        var plan = h.Schedule();

        Assert.Equal("lost by its agent", Assert.Single(plan.Stops).Reason);
        Assert.Equal(Id("web-aaaaa"), Assert.Single(plan.Places).Replaces);
    }

    [Fact]
    public void Removed_service_has_every_replica_stopped()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        h.RemoveService("web");

        var plan = h.Schedule();

        Assert.Equal(3, plan.Stops.Count());
        Assert.All(plan.Stops, s => Assert.Equal("service web was removed", s.Reason));
    }

    [Fact]
    public void Replicas_on_a_draining_node_are_migrated_surge_first_one_at_a_time()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 4));
        h.AddReplica(Replica("web-aaaaa", "node1"));
        h.AddReplica(Replica("web-bbbbb", "node1"));
        h.AddReplica(Replica("web-ccccc", "node2"));
        h.AddReplica(Replica("web-ddddd", "node3"));
        h.SetNodeStatus("node1", NodeStatus.Draining);

        var plan = h.Schedule();

        var move = Assert.Single(plan.Migrations);
        Assert.Equal("node1", move.From.Value);
        Assert.NotEqual("node1", move.To.Value);
        Assert.Empty(plan.Stops);
        Assert.Empty(plan.Places);
        Assert.Single(plan.Deferred);

        h.Converge();
        Assert.Equal(0, h.CountOn("node1"));
        Assert.Equal(4, h.ReplicasOf("web").Count);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    public void Drain_waits_for_moves_in_flight_before_starting_the_next(int maxSurge, int perStep)
    {
        var h = ThreeNodes();
        h.MigrationsCompleteAtOnce = false;
        h.Deploy(Service("web", replicas: 4, maxSurge: maxSurge));
        foreach (var suffix in new[] { "aaaaa", "bbbbb", "ccccc", "ddddd" })
        {
            h.AddReplica(Replica($"web-{suffix}", "node1"));
        }
        h.SetNodeStatus("node1", NodeStatus.Draining);

        var first = h.Schedule();
        var whileInFlight = h.Schedule();
        h.CompleteMigrations();
        var next = h.Schedule();

        Assert.Equal(perStep, first.Migrations.Count());
        Assert.Empty(whileInFlight.Migrations);
        Assert.Equal(perStep, next.Migrations.Count());
        Assert.DoesNotContain(next.Migrations, m => first.Migrations.Any(f => f.Replica == m.Replica));
    }

    [Fact]
    public void Drain_with_no_other_feasible_node_is_reported_unschedulable()
    {
        var h = new Harness();
        h.AddNode("node1", labels: ["zone=a"]);
        h.AddNode("node2", labels: ["zone=b"]);
        h.Deploy(Service("web", replicas: 1, constraints: ["zone == a"]));
        h.AddReplica(Replica("web-aaaaa", "node1"));
        h.SetNodeStatus("node1", NodeStatus.Draining);

        var plan = h.Schedule();

        var item = Assert.Single(plan.Unschedulable);
        Assert.Equal(Id("web-aaaaa"), item.Replica);
        Assert.Contains("node2: constraint zone == a not met (zone is b)", item.Reasons.Select(r => r.ToString()));
        Assert.StartsWith("cannot move web-aaaaa", item.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Migration_in_flight_counts_against_the_cluster_limit()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 1));
        h.Deploy(Service("api", replicas: 1));
        h.AddReplica(Replica("web-aaaaa", "node1") with { MigratingTo = Node("node2") });
        h.AddReplica(Replica("api-aaaaa", "node1"));
        h.SetNodeStatus("node1", NodeStatus.Draining);

        var plan = Scheduler.Schedule(h.Services, h.Replicas, h.Nodes, h.Options with { MaxConcurrentMigrations = 1 });

        Assert.Empty(plan.Migrations);
        Assert.Contains("migrations already in flight", Assert.Single(plan.Deferred).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Cordoned_node_keeps_its_replicas_but_gets_no_new_ones()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        h.SetNodeStatus("node1", NodeStatus.Cordoned);
        h.Scale("web", 5);

        var plan = h.Schedule();

        Assert.Empty(plan.Stops);
        Assert.Equal(2, plan.Places.Count());
        Assert.All(plan.Places, p => Assert.NotEqual("node1", p.Node.Value));
        Assert.Equal(1, h.CountOn("node1"));
    }

    [Fact]
    public void Scale_down_prefers_replicas_on_a_cordoned_node()
    {
        var h = ThreeNodes();
        h.Deploy(Service("web", replicas: 3));
        h.Converge();
        h.SetNodeStatus("node2", NodeStatus.Cordoned);
        h.Scale("web", 2);

        var plan = h.Schedule();

        Assert.Equal("node2", Assert.Single(plan.Stops).Node.Value);
    }

    [Fact]
    public void Migrate_command_moves_a_replica_to_the_named_node_or_says_why_not()
    {
        var h = ThreeNodes();
        h.AddNode("node4", memory: "100Mi");
        h.Deploy(Service("web", replicas: 1, memory: "256Mi"));
        h.Converge();
        var id = Assert.Single(h.ReplicasOf("web")).Id;
        var from = h.Replica(id).Node.Value;

        var refused = h.Migrate(id, "node4");
        var chosen = h.Migrate(id);

        Assert.Equal("node4: memory needs 256Mi, 100Mi free", Assert.Single(Assert.Single(refused.Unschedulable).Reasons).ToString());
        var move = Assert.Single(chosen.Migrations);
        Assert.Equal(from, move.From.Value);
        Assert.NotEqual(from, move.To.Value);
        Assert.Equal(move.To, h.Replica(id).Node);
    }
}
