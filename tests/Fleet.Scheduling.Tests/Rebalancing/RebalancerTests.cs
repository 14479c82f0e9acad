using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;
using Fleet.Scheduling.Rebalancing;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Rebalancing;

public sealed class RebalancerTests
{
    private static Harness TwoNodesWithSix(bool stateful = false)
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("web", replicas: 6, stateful: stateful));
        h.Converge();
        return h;
    }

    /// <summary>RebalanceUntilQuiet runs rebalances (each move completes at once) until one plans nothing.</summary>
    private static List<Plan> RebalanceUntilQuiet(Harness h, RebalanceOptions? options = null, int maxRounds = 20)
    {
        var plans = new List<Plan>();
        for (var i = 0; i < maxRounds; i++)
        {
            var plan = h.Rebalance(options);
            plans.Add(plan);
            if (plan.IsEmpty)
            {
                break;
            }
        }
        return plans;
    }

    [Fact]
    public void Third_node_joining_a_two_node_cluster_evens_six_replicas_to_two_each()
    {
        var h = TwoNodesWithSix();
        h.AddNode("node3");

        var plans = RebalanceUntilQuiet(h);

        Assert.Equal([2, 2, 2], new[] { "node1", "node2", "node3" }.Select(n => h.CountOn(n, "web")));
        Assert.True(plans[^1].IsEmpty);
        Assert.All(plans.SelectMany(p => p.Migrations), m => Assert.Equal("node3", m.To.Value));
        Assert.StartsWith("spread: node", plans[0].Migrations.Single().Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Uncordoned_node_receives_replicas_again()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.AddNode("node3", status: NodeStatus.Cordoned);
        h.Deploy(Service("web", replicas: 6));
        h.Converge();
        Assert.True(h.Rebalance().IsEmpty);

        h.SetNodeStatus("node3", NodeStatus.Ready);
        RebalanceUntilQuiet(h);

        Assert.Equal(2, h.CountOn("node3", "web"));
    }

    [Theory]
    [InlineData(7, 3)]
    [InlineData(5, 2)]
    public void Counts_that_differ_by_one_are_left_alone(int replicas, int nodes)
    {
        var h = new Harness();
        for (var i = 1; i <= nodes; i++)
        {
            h.AddNode($"node{i}");
        }
        h.Deploy(Service("web", replicas: replicas));
        h.Converge();

        Assert.True(h.Rebalance().IsEmpty);
    }

    [Fact]
    public void Moves_never_flap_back_and_always_stop()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("web", replicas: 9));
        h.Deploy(Service("api", replicas: 5, cpu: "500m", spread: SpreadMode.None));
        h.Deploy(Service("db", replicas: 2, memory: "1Gi"));
        h.Converge();
        h.AddNode("node3");
        h.AddNode("node4");

        var plans = RebalanceUntilQuiet(h, new RebalanceOptions { MaxConcurrent = 3 }, maxRounds: 50);

        Assert.True(plans[^1].IsEmpty, "rebalance did not settle");
        var moves = plans.SelectMany(p => p.Migrations).ToList();
        Assert.DoesNotContain(moves, m => moves.Any(o => o.Replica == m.Replica && o.From == m.To && o.To == m.From));
        Assert.True(h.Rebalance().IsEmpty);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(5, 2)]
    public void Moves_per_service_per_plan_follow_max_surge(int maxSurge, int expected)
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("web", replicas: 6, maxSurge: maxSurge));
        h.Converge();
        h.AddNode("node3");

        var plan = h.Rebalance(new RebalanceOptions { MaxConcurrent = 8, DryRun = true });

        Assert.Equal(expected, plan.Migrations.Count());
        Assert.Equal(plan.Migrations.Count(), plan.Migrations.Select(m => m.Replica).Distinct().Count());
    }

    [Fact]
    public void Stateful_replicas_move_only_when_allowed()
    {
        var h = TwoNodesWithSix(stateful: true);
        h.AddNode("node3");

        var refused = h.Rebalance();
        var allowed = h.Rebalance(new RebalanceOptions { AllowStateful = true });

        Assert.True(refused.IsEmpty);
        Assert.Single(allowed.Migrations);
    }

    [Fact]
    public void Dry_run_plans_without_applying()
    {
        var h = TwoNodesWithSix();
        h.AddNode("node3");

        var plan = h.Rebalance(new RebalanceOptions { DryRun = true });

        Assert.Single(plan.Migrations);
        Assert.Same(plan, h.Plans[^1]);
        Assert.Equal(0, h.CountOn("node3"));
        Assert.StartsWith("migrate web-", plan.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void At_most_max_concurrent_moves_are_planned_counting_those_in_flight()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            h.Deploy(Service(name, replicas: 4, spread: SpreadMode.Node));
        }
        h.Converge();
        h.AddNode("node3");

        var plan = h.Rebalance(new RebalanceOptions { MaxConcurrent = 3, DryRun = true });
        Assert.Equal(3, plan.Migrations.Count());

        var busy = h.ReplicasOf("a")[0];
        h.AddReplica(busy with { MigratingTo = busy.Node.Value == "node1" ? Node("node2") : Node("node1") });
        var limited = Rebalancer.Plan(h.Services, h.Replicas, h.Nodes, new RebalanceOptions { MaxConcurrent = 1 });
        Assert.True(limited.IsEmpty);
        Assert.Equal("1 migrations already in flight", Assert.Single(limited.Deferred).ToString());
    }

    [Fact]
    public void Service_in_the_middle_of_a_rollout_is_not_moved()
    {
        var h = TwoNodesWithSix();
        h.Deploy(Service("web", replicas: 6, image: "nginx:1.28"));
        h.Schedule();
        h.AddNode("node3");

        Assert.True(h.Rebalance().IsEmpty);
    }

    [Fact]
    public void Load_is_evened_out_by_moving_from_the_busiest_to_the_idlest_node()
    {
        var h = new Harness();
        h.AddNode("node1", cpu: "4", memory: "8Gi");
        h.Deploy(Service("batch", replicas: 3, cpu: "1", memory: "2Gi", spread: SpreadMode.None));
        h.Converge();
        h.AddNode("node2", cpu: "4", memory: "8Gi");

        var plans = RebalanceUntilQuiet(h);

        Assert.StartsWith("load: node1 at 75 %, node2 at 0 %", plans[0].Migrations.Single().Reason, StringComparison.Ordinal);
        Assert.Equal(2, h.CountOn("node1"));
        Assert.Equal(1, h.CountOn("node2"));
    }

    [Fact]
    public void Cordoned_and_draining_nodes_receive_nothing()
    {
        var h = TwoNodesWithSix();
        h.AddNode("node3", status: NodeStatus.Cordoned);
        h.AddNode("node4", status: NodeStatus.Draining);

        Assert.True(h.Rebalance().IsEmpty);
    }
}
