using Fleet.Core.Specs;
using Fleet.Scheduling.Rebalancing;
using Fleet.Scheduling.Testing;
using static Fleet.Scheduling.Tests.Specs;

namespace Fleet.Scheduling.Tests.Rebalancing;

/// <summary>
/// RebalanceOptionsTests drive the planner with cluster.yaml's `rebalance:` settings, table by
/// table: the count threshold (hysteresis), the cap on moves in flight, and the stateful rule.
/// </summary>
public sealed class RebalanceOptionsTests
{
    /// <summary>Cluster makes nodes holding the given counts of one healthy service ("4,0" = node1 has 4, node2 has 0).</summary>
    private static Harness Cluster(string counts, bool stateful = false, int maxSurge = 1)
    {
        var perNode = counts.Split(',').Select(int.Parse).ToArray();
        var h = new Harness();
        for (var i = 0; i < perNode.Length; i++)
        {
            h.AddNode($"node{i + 1}");
        }
        h.Deploy(Service("web", replicas: perNode.Sum(), stateful: stateful, maxSurge: maxSurge));
        var serial = 0;
        for (var i = 0; i < perNode.Length; i++)
        {
            for (var k = 0; k < perNode[i]; k++)
            {
                h.AddReplica(Replica($"web-r{serial++:D4}", $"node{i + 1}") with { Stateful = stateful });
            }
        }
        return h;
    }

    public static TheoryData<string, int, int> ThresholdCases => new()
    {
        // counts per node, threshold, moves planned in one round (maxSurge 8, maxConcurrent 8)
        { "3,3,0", 2, 2 },
        { "3,3,0", 3, 1 },
        { "3,3,0", 4, 0 },
        { "2,1", 2, 0 },
        { "2,1", 1, 0 }, // 1 is taken as 2: moving would only swap which node holds two
        { "2,2,2", 2, 0 },
        { "5,0", 2, 2 },
        { "5,0", 6, 0 },
    };

    [Theory]
    [MemberData(nameof(ThresholdCases))]
    public void Only_an_imbalance_beyond_the_threshold_moves(string counts, int threshold, int moves)
    {
        var h = Cluster(counts, maxSurge: 8);

        var plan = h.Rebalance(new RebalanceOptions { MinCountDifference = threshold, MaxConcurrent = 8, DryRun = true });

        Assert.Equal(moves, plan.Migrations.Count());
    }

    [Theory]
    [InlineData("4,4,0", 1)]
    [InlineData("3,3,0", 2)]
    [InlineData("5,5,5,0,0", 3)]
    public void A_threshold_of_two_settles_evenly_and_never_moves_back(string counts, int maxConcurrent)
    {
        var h = Cluster(counts);
        var moves = new List<(string Replica, string From, string To)>();

        for (var round = 0; round < 30; round++)
        {
            var plan = h.Rebalance(new RebalanceOptions { MaxConcurrent = maxConcurrent });
            if (plan.IsEmpty)
            {
                break;
            }
            Assert.True(plan.Migrations.Count() <= maxConcurrent);
            moves.AddRange(plan.Migrations.Select(m => (m.Replica.ToString(), m.From.Value, m.To.Value)));
        }

        var perNode = h.Nodes.Select(n => h.CountOn(n.Name.Value, "web")).ToList();
        Assert.True(perNode.Max() - perNode.Min() <= 1, $"uneven after rebalancing: {string.Join("/", perNode)}");
        Assert.DoesNotContain(moves, m => moves.Any(o => o.Replica == m.Replica && o.From == m.To));
        Assert.True(h.Rebalance().IsEmpty);
    }

    public static TheoryData<int, int, int> ConcurrencyCases => new()
    {
        // maxConcurrent, moves already in flight, moves planned (4 services of 4 on 2 nodes + an empty third)
        { 1, 0, 1 },
        { 2, 0, 2 },
        { 3, 0, 3 },
        { 8, 0, 4 },
        { 2, 1, 1 },
        { 2, 2, 0 },
        { 3, 5, 0 },
    };

    [Theory]
    [MemberData(nameof(ConcurrencyCases))]
    public void Moves_in_flight_count_against_max_concurrent(int maxConcurrent, int inFlight, int planned)
    {
        var h = new Harness();
        h.AddNode("node1");
        h.AddNode("node2");
        foreach (var name in new[] { "a", "b", "c", "d" })
        {
            h.Deploy(Service(name, replicas: 4));
        }
        h.Converge();
        h.AddNode("node3");
        h.AddNode("node4");
        h.AddNode("other");
        h.Deploy(Service("busy", replicas: 0));
        for (var i = 0; i < inFlight; i++)
        {
            h.AddReplica(Replica($"busy-m{i:D4}", "node4") with { MigratingTo = Node("other") });
        }

        var plan = h.Rebalance(new RebalanceOptions { MaxConcurrent = maxConcurrent, DryRun = true });

        Assert.Equal(planned, plan.Migrations.Count());
    }

    [Theory]
    [InlineData(false, false, 0)]
    [InlineData(false, true, 0)]
    [InlineData(true, false, 1)]
    [InlineData(true, true, 1)]
    public void Stateful_replicas_move_only_when_the_setting_allows(bool allowStateful, bool stateful, int statefulMoves)
    {
        var h = Cluster("4,0", stateful: stateful);
        var settings = new RebalanceSettings { Stateful = allowStateful };

        var plan = h.Rebalance(RebalanceOptions.From(settings) with { DryRun = true });

        Assert.Equal(stateful ? statefulMoves : 1, plan.Migrations.Count());
    }

    [Fact]
    public void Options_from_the_cluster_settings_carry_every_field()
    {
        var options = RebalanceOptions.From(new RebalanceSettings { MaxConcurrent = 5, Stateful = true, Threshold = 3, LoadGap = 0.35 });

        Assert.Equal((5, true, 3, 0.35, false), (options.MaxConcurrent, options.AllowStateful, options.MinCountDifference, options.MinUtilizationGap, options.DryRun));
        Assert.Equal(new RebalanceOptions(), RebalanceOptions.From(new RebalanceSettings()));
    }
}
