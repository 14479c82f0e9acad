using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Rank;

public sealed class RankingTests
{
    [Theory]
    [InlineData(6, 3, new[] { 2, 2, 2 })]
    [InlineData(7, 3, new[] { 3, 2, 2 })]
    [InlineData(2, 3, new[] { 1, 1, 0 })]
    public void Spread_service_places_replicas_evenly_across_nodes(int replicas, int nodes, int[] expected)
    {
        var h = new Harness();
        for (var i = 1; i <= nodes; i++)
        {
            h.AddNode($"node{i}");
        }
        h.Deploy(Service("web", replicas: replicas));

        h.Schedule();

        var counts = Enumerable.Range(1, nodes).Select(i => h.CountOn($"node{i}", "web")).OrderDescending().ToArray();
        Assert.Equal(expected, counts);
    }

    [Fact]
    public void Spread_none_bin_packs_onto_the_fullest_node_that_fits()
    {
        var h = new Harness();
        h.AddNode("node1", cpu: "4");
        h.AddNode("node2", cpu: "4");
        h.AddNode("node3", cpu: "4");
        h.Deploy(Service("batch", replicas: 5, cpu: "1", spread: SpreadMode.None));

        h.Schedule();

        var counts = new[] { "node1", "node2", "node3" }.Select(n => h.CountOn(n)).OrderDescending().ToArray();
        Assert.Equal([4, 1, 0], counts);
    }

    [Fact]
    public void Bin_pack_prefers_the_already_busier_node()
    {
        var h = new Harness();
        h.AddNode("node1", cpu: "4");
        h.AddNode("node2", cpu: "4");
        h.Deploy(Service("other", replicas: 1, cpu: "2", spread: SpreadMode.None));
        h.AddReplica(Replica("other-aaaaa", "node2") with { Resources = new ResourceRequest { Cpu = Cpu("2") } });
        h.Deploy(Service("batch", replicas: 1, cpu: "1", spread: SpreadMode.None));

        var plan = h.Schedule();

        Assert.Equal("node2", Assert.Single(plan.Places).Node.Value);
    }

    [Fact]
    public void Spread_prefers_the_less_utilized_node_when_counts_tie()
    {
        var h = new Harness();
        h.AddNode(new NodeInfo { Name = Node("node1"), AllocatableCpu = Cpu("4"), AllocatableMemory = Bytes("8Gi"), UsedCpu = Cpu("3") });
        h.AddNode("node2", cpu: "4");
        h.Deploy(Service("web", replicas: 1, cpu: "500m"));

        var plan = h.Schedule();

        Assert.Equal("node2", Assert.Single(plan.Places).Node.Value);
    }

    [Fact]
    public void Existing_replicas_count_toward_the_spread()
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        h.Deploy(Service("web", replicas: 3));
        h.AddReplica(Replica("web-aaaaa", "node1"));
        h.AddReplica(Replica("web-bbbbb", "node1"));

        var plan = h.Schedule();

        Assert.Equal("node2", Assert.Single(plan.Places).Node.Value);
    }

    [Theory]
    [InlineData(TieBreak.Name)]
    [InlineData(TieBreak.Random)]
    public void Same_inputs_and_seed_give_the_same_plan(TieBreak tieBreak)
    {
        static Harness Build(TieBreak tieBreak)
        {
            var h = new Harness(seed: 42) { TieBreak = tieBreak };
            for (var i = 1; i <= 20; i++)
            {
                h.AddNode($"node{i}");
            }
            h.Deploy(Service("web", replicas: 7, cpu: "100m"));
            h.Deploy(Service("api", replicas: 5, memory: "64Mi"));
            return h;
        }

        var first = Build(tieBreak).Schedule();
        var second = Build(tieBreak).Schedule();

        Assert.Equal(first.Actions, second.Actions);
    }

    [Fact]
    public void Name_tie_break_takes_nodes_in_name_order()
    {
        var h = new Harness { TieBreak = TieBreak.Name };
        h.AddNode("node-c");
        h.AddNode("node-a");
        h.AddNode("node-b");
        h.Deploy(Service("web", replicas: 2));

        var plan = h.Schedule();

        Assert.Equal(["node-a", "node-b"], plan.Places.Select(p => p.Node.Value));
    }

    [Fact]
    public void Random_tie_break_depends_on_the_seed()
    {
        var firstNodes = new HashSet<string>();
        for (var seed = 0; seed < 10; seed++)
        {
            var h = new Harness(seed) { TieBreak = TieBreak.Random };
            for (var i = 1; i <= 10; i++)
            {
                h.AddNode($"node{i}");
            }
            h.Deploy(Service("web", replicas: 1));
            firstNodes.Add(h.Schedule().Places.Single().Node.Value);
        }

        Assert.True(firstNodes.Count > 1, "every seed chose the same node");
    }
}
