using Fleet.Core.Ids;
using Fleet.Scheduling.Rebalancing;

namespace Fleet.Scheduling.Tests.Rebalancing;

/// <summary>RebalanceTriggerTests check the settle delay: when a join makes a rebalance due, and how a flapping node postpones it.</summary>
public sealed class RebalanceTriggerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(15);

    /// <summary>Run replays observations "0:node1,node2; 4:node1,node2,node3": seconds after T0, then the eligible nodes.</summary>
    private static RebalanceTrigger Run(string steps)
    {
        var trigger = RebalanceTrigger.Initial;
        foreach (var step in steps.Split(';', StringSplitOptions.TrimEntries))
        {
            var (at, nodes) = (step.Split(':')[0], step.Split(':')[1]);
            trigger = trigger.Observe(Names(nodes), T0.AddSeconds(int.Parse(at, System.Globalization.CultureInfo.InvariantCulture)), Settle);
        }
        return trigger;
    }

    private static IEnumerable<NodeName> Names(string nodes) =>
        nodes.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(NodeName.Parse);

    public static TheoryData<string, string, int?> Cases => new()
    {
        // name, observations, due at (seconds after T0) or null when none is due
        { "first picture is a baseline", "0:node1,node2", null },
        { "nothing changes", "0:node1,node2; 5:node1,node2; 30:node1,node2", null },
        { "a node joins", "0:node1,node2; 4:node1,node2,node3", 4 + 15 },
        { "a node leaves", "0:node1,node2,node3; 4:node1,node2", null },
        { "a flapping node restarts the delay", "0:node1,node2; 4:node1,node2,node3; 10:node1,node2; 12:node1,node2,node3", 12 + 15 },
        { "a second join restarts the delay", "0:node1; 1:node1,node2; 9:node1,node2,node3", 9 + 15 },
        { "an uncordoned node is a newcomer", "0:node1,node2,node3; 2:node1,node2; 40:node1,node2,node3", 40 + 15 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Joins_make_a_rebalance_due_after_the_settle_delay(string name, string steps, int? dueAt)
    {
        var trigger = Run(steps);

        Assert.True((dueAt is null ? null : T0.AddSeconds(dueAt.Value)) == trigger.DueAt, $"{name}: due at {trigger.DueAt:O}");
        if (dueAt is { } due)
        {
            Assert.False(trigger.IsDue(T0.AddSeconds(due - 1)), name);
            Assert.True(trigger.IsDue(T0.AddSeconds(due)), name);
        }
    }

    [Fact]
    public void Reason_names_the_nodes_that_joined()
    {
        Assert.Equal("node node3 joined", Run("0:node1; 1:node1,node3").Reason);
        Assert.Equal("nodes node2, node3 joined", Run("0:node1; 1:node1,node3,node2").Reason);
    }

    [Fact]
    public void Completed_ends_it_and_a_request_is_due_at_once()
    {
        var joined = Run("0:node1; 1:node1,node2");

        var done = joined.Completed();
        var requested = done.Requested(T0.AddSeconds(2), "requested by fleetctl rebalance");

        Assert.Null(done.DueAt);
        Assert.False(done.IsDue(T0.AddHours(1)));
        Assert.True(requested.IsDue(T0.AddSeconds(2)));
        Assert.Equal("requested by fleetctl rebalance", requested.Reason);
        Assert.Equal(2, requested.Eligible.Count);
    }
}
