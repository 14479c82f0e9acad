using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Health;

namespace Fleet.Node.Tests.Health;

public sealed class HealthTrackerTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static HealthCheck Check(int retries, TimeSpan startPeriod = default) =>
        new() { Probe = new ExecProbe(["true"]), Retries = retries, StartPeriod = startPeriod };

    [Fact]
    public void Retries_failures_in_a_row_make_it_unhealthy_and_a_success_heals_it()
    {
        var tracker = new HealthTracker(Check(3), Start);
        Assert.Equal(HealthVerdict.BecameHealthy, tracker.Record(true, "ok", Start.AddSeconds(1)));
        Assert.Equal(HealthVerdict.Unchanged, tracker.Record(false, "no", Start.AddSeconds(2)));
        Assert.Equal(HealthVerdict.Unchanged, tracker.Record(true, "ok", Start.AddSeconds(3)));
        Assert.Equal(HealthVerdict.Unchanged, tracker.Record(false, "no", Start.AddSeconds(4)));
        Assert.Equal(HealthVerdict.Unchanged, tracker.Record(false, "no", Start.AddSeconds(5)));
        Assert.Equal(HealthVerdict.BecameUnhealthy, tracker.Record(false, "still no", Start.AddSeconds(6)));
        Assert.Equal(ReplicaHealth.Unhealthy, tracker.Health);
        Assert.Equal("still no", tracker.LastOutput);
        Assert.Equal(HealthVerdict.Unchanged, tracker.Record(false, "no", Start.AddSeconds(7)));
        Assert.Equal(HealthVerdict.BecameHealthy, tracker.Record(true, "ok", Start.AddSeconds(8)));
    }

    [Fact]
    public void Failures_inside_the_start_period_do_not_count_until_a_success_ends_it()
    {
        var tracker = new HealthTracker(Check(1, TimeSpan.FromSeconds(30)), Start);
        Assert.Equal(HealthVerdict.Unchanged, tracker.Record(false, "booting", Start.AddSeconds(10)));
        Assert.Equal(ReplicaHealth.Unknown, tracker.Health);
        Assert.Equal(HealthVerdict.BecameUnhealthy, tracker.Record(false, "late", Start.AddSeconds(31)));

        var early = new HealthTracker(Check(1, TimeSpan.FromSeconds(30)), Start);
        Assert.Equal(HealthVerdict.BecameHealthy, early.Record(true, "up", Start.AddSeconds(5)));
        Assert.Equal(HealthVerdict.BecameUnhealthy, early.Record(false, "down", Start.AddSeconds(6)));
    }
}
