using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Autoscaling;

namespace Fleet.Scheduling.Tests.Autoscaling;

public sealed class ScaleToZeroTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly AutoscalePolicy Zero = new() { Min = 0, Max = 5, IdleAfter = TimeSpan.FromMinutes(5) };

    [Fact]
    public void Idle_for_idleAfter_since_the_last_connection_scales_to_zero_with_the_reason()
    {
        var usage = new MeshUsage(T0.AddMinutes(1), 0, 0);

        var decision = ScaleToZero.DecideIdle(Web, Zero, 2, usage, T0, T0.AddMinutes(6).AddSeconds(0.4));

        Assert.Equal(new ScaleToZeroDecision(Web, 2, 0, "web 2 → 0: idle for 5m (idleAfter 5m)"), decision);
    }

    [Fact]
    public void Without_any_connection_idleness_counts_from_when_the_controller_began_watching()
    {
        Assert.Null(ScaleToZero.DecideIdle(Web, Zero, 2, MeshUsage.None, T0, T0.AddMinutes(4)));

        var decision = ScaleToZero.DecideIdle(Web, Zero, 2, MeshUsage.None, T0, T0.AddMinutes(5));

        Assert.Equal("web 2 → 0: no connection for 5m (idleAfter 5m)", decision?.Reason);
    }

    [Theory]
    [InlineData(1, 0, 10)] // a connection open (a long download) keeps it up, however old its start
    [InlineData(0, 1, 10)] // a connection held by some mesh: it is waking, not idle
    [InlineData(0, 0, 4)] // the last connection 4 minutes ago: not yet
    public void Open_held_or_recent_connections_keep_the_service_up(long active, long held, int minutesSinceLast)
    {
        var usage = new MeshUsage(T0, active, held);

        Assert.Null(ScaleToZero.DecideIdle(Web, Zero, 3, usage, T0.AddHours(-1), T0.AddMinutes(minutesSinceLast)));
    }

    [Fact]
    public void A_service_changed_recently_is_not_idle_before_idleAfter_from_that_change()
    {
        // Last connection long ago, but the service was woken (or applied) a minute ago.
        var usage = new MeshUsage(T0.AddHours(-2), 0, 0);

        Assert.Null(ScaleToZero.DecideIdle(Web, Zero, 1, usage, T0.AddMinutes(-1), T0));
    }

    [Fact]
    public void Only_services_with_min_0_and_idleAfter_and_replicas_scale_to_zero()
    {
        var longAgo = new MeshUsage(T0.AddDays(-1), 0, 0);
        var cpu = new AutoscalePolicy { Min = 1, Max = 5, Cpu = new Percentage(60) };

        Assert.Null(ScaleToZero.DecideIdle(Web, null, 2, longAgo, T0.AddDays(-1), T0));
        Assert.Null(ScaleToZero.DecideIdle(Web, cpu, 2, longAgo, T0.AddDays(-1), T0));
        Assert.Null(ScaleToZero.DecideIdle(Web, Zero, 0, longAgo, T0.AddDays(-1), T0));
        Assert.False(ScaleToZero.Applies(cpu));
        Assert.True(ScaleToZero.Applies(Zero));
    }

    [Fact]
    public void A_waiting_connection_wakes_a_service_at_zero_to_one_naming_the_node()
    {
        var decision = ScaleToZero.DecideWake(Web, Zero, 0, Node2);

        Assert.Equal(new ScaleToZeroDecision(Web, 0, 1, "web 0 → 1: a connection is waiting on node2"), decision);
        Assert.Null(ScaleToZero.DecideWake(Web, Zero, 1, Node2)); // already desired: starting, the mesh will find it
        Assert.Null(ScaleToZero.DecideWake(Web, null, 0, Node2)); // scaled to zero by hand without autoscale: stays
    }

    [Fact]
    public void The_ledger_merges_nodes_keeps_the_latest_connection_and_forgets_stale_counts()
    {
        var node1 = NodeName.Parse("node1");
        var ledger = new MeshActivityLedger { StaleAfter = TimeSpan.FromSeconds(15) };

        ledger.Record(node1, Web, TimeSpan.FromSeconds(30), 1, 0, T0);
        ledger.Record(Node2, Web, TimeSpan.FromSeconds(2), 0, 2, T0);
        Assert.Equal(new MeshUsage(T0.AddSeconds(-2), 1, 2), ledger.UsageOf(Web, T0));

        // node2 restarts: "no connection since I started" does not erase the connection it had.
        ledger.Record(Node2, Web, null, 0, 0, T0.AddSeconds(1));
        Assert.Equal(new MeshUsage(T0.AddSeconds(-2), 1, 0), ledger.UsageOf(Web, T0.AddSeconds(1)));

        // node1 falls silent with a connection open: after StaleAfter its count no longer holds the service up.
        Assert.Equal(new MeshUsage(T0.AddSeconds(-2), 0, 0), ledger.UsageOf(Web, T0.AddSeconds(20)));
        Assert.Equal(MeshUsage.None, ledger.UsageOf(ServiceName.Parse("api"), T0));

        ledger.Forget(s => s != Web);
        Assert.Equal(MeshUsage.None, ledger.UsageOf(Web, T0));
    }

    [Fact]
    public void IdleFor_follows_the_same_rule()
    {
        Assert.Equal(TimeSpan.FromMinutes(2), ScaleToZero.IdleFor(new MeshUsage(T0, 0, 0), T0.AddMinutes(-5), T0.AddMinutes(2)));
        Assert.Equal(TimeSpan.FromMinutes(1), ScaleToZero.IdleFor(new MeshUsage(T0, 0, 0), T0.AddMinutes(1), T0.AddMinutes(2)));
        Assert.Equal(TimeSpan.Zero, ScaleToZero.IdleFor(new MeshUsage(T0, 1, 0), T0, T0.AddMinutes(2)));
    }
}
