using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Autoscaling;

namespace Fleet.Scheduling.Tests.Autoscaling;

public sealed class AutoscalerTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static AutoscalePolicy Cpu(double target, int min = 1, int max = 20, int delayMinutes = 5) =>
        new() { Min = min, Max = max, Cpu = new Percentage(target), ScaleDownDelay = TimeSpan.FromMinutes(delayMinutes) };

    /// <summary>Warm is a state whose stabilization window has already passed with low recommendations.</summary>
    private static AutoscalerState Warm => new() { Since = T0.AddHours(-1) };

    [Theory]
    // current, cpu %, target %, min, max, expected, reason
    [InlineData(3, 140, 60, 1, 20, 7, "web 3 → 7: cpu 140 % of target 60 %")]
    [InlineData(3, 64, 60, 1, 20, 3, "web stays at 3: cpu 64 % of target 60 % (within 10 % tolerance)")]
    [InlineData(3, 54, 60, 1, 20, 3, "web stays at 3: cpu 54 % of target 60 % (within 10 % tolerance)")]
    [InlineData(3, 200, 50, 1, 5, 5, "web 3 → 5: cpu 200 % of target 50 %, capped at max 5")]
    [InlineData(4, 10, 60, 2, 20, 2, "web 4 → 2: cpu 10 % of target 60 %, kept at min 2")]
    [InlineData(10, 30, 60, 1, 20, 5, "web 10 → 5: cpu 30 % of target 60 %")]
    [InlineData(12, 60, 60, 1, 8, 8, "web 12 → 8: above max 8")]
    [InlineData(1, 60, 60, 3, 8, 3, "web 1 → 3: below min 3")]
    public void Cpu_target_gives_the_expected_count_and_reason(int current, double cpu, double target, int min, int max, int expected, string reason)
    {
        var decision = Autoscaler.Decide(Web, Cpu(target, min, max), current, new AutoscaleMetrics { CpuPercent = cpu }, Warm, T0);

        Assert.Equal(expected, decision.Desired);
        Assert.Equal(reason, decision.Reason);
    }

    [Fact]
    public void Largest_proposal_over_all_targets_wins()
    {
        var policy = new AutoscalePolicy { Max = 50, Cpu = new Percentage(50), RequestsPerSecond = 100, Memory = new Percentage(80) };
        var metrics = new AutoscaleMetrics { CpuPercent = 60, MemoryPercent = 40, RequestsPerSecond = 1000 };

        var decision = Autoscaler.Decide(Web, policy, 5, metrics, Warm, T0);

        Assert.Equal(10, decision.Desired);
        Assert.Equal("web 5 → 10: 200 requests/s per replica of target 100", decision.Reason);
    }

    [Fact]
    public void Custom_metric_drives_the_count()
    {
        var policy = new AutoscalePolicy { Max = 10, Metric = new CustomMetricTarget(9090, "/metrics", "queue_depth", 10) };

        var decision = Autoscaler.Decide(Web, policy, 2, new AutoscaleMetrics { CustomValue = 25 }, Warm, T0);

        Assert.Equal(5, decision.Desired);
        Assert.Equal("web 2 → 5: queue_depth 25 of target 10", decision.Reason);
    }

    [Fact]
    public void No_metrics_keeps_the_count()
    {
        var decision = Autoscaler.Decide(Web, Cpu(60), 3, new AutoscaleMetrics(), Warm, T0);

        Assert.False(decision.Changed);
        Assert.Equal("web stays at 3: no metrics measured", decision.Reason);
    }

    [Fact]
    public void Scale_down_waits_for_the_stabilization_window_of_a_fresh_autoscaler()
    {
        var low = new AutoscaleMetrics { CpuPercent = 10 };
        var first = Autoscaler.Decide(Web, Cpu(60), 6, low, AutoscalerState.Initial, T0);
        var later = Autoscaler.Decide(Web, Cpu(60), 6, low, first.State, T0.AddMinutes(5));

        Assert.False(first.Changed);
        Assert.Contains("waiting for the 5m stabilization window", first.Reason, StringComparison.Ordinal);
        Assert.Equal(1, later.Desired);
    }

    [Fact]
    public void Scale_down_goes_only_to_the_highest_recommendation_within_the_window()
    {
        var state = Warm;
        var peak = Autoscaler.Decide(Web, Cpu(60), 6, new AutoscaleMetrics { CpuPercent = 60 }, state, T0);
        var dip = Autoscaler.Decide(Web, Cpu(60), 6, new AutoscaleMetrics { CpuPercent = 10 }, peak.State, T0.AddMinutes(2));
        var after = Autoscaler.Decide(Web, Cpu(60), 6, new AutoscaleMetrics { CpuPercent = 10 }, dip.State, T0.AddMinutes(5).AddSeconds(1));

        Assert.False(dip.Changed);
        Assert.Contains("but 6 was recommended within the 5m stabilization window", dip.Reason, StringComparison.Ordinal);
        Assert.Equal(1, after.Desired);
    }

    [Fact]
    public void Scale_up_is_immediate_even_right_after_a_scale_down_recommendation()
    {
        var dip = Autoscaler.Decide(Web, Cpu(60), 4, new AutoscaleMetrics { CpuPercent = 10 }, Warm, T0);
        var spike = Autoscaler.Decide(Web, Cpu(60), dip.Desired, new AutoscaleMetrics { CpuPercent = 180 }, dip.State, T0.AddSeconds(30));

        Assert.True(spike.Desired > dip.Desired);
    }

    [Theory]
    // current, cpu %, expected: within one period the count grows to at most max(2 × start, start + 4)
    [InlineData(2, 600, 6)]
    [InlineData(10, 600, 20)]
    [InlineData(10, 90, 15)]
    [InlineData(4, 600, 8)]
    public void Scale_up_is_rate_limited_per_period(int current, double cpu, int expected)
    {
        var decision = Autoscaler.Decide(Web, Cpu(60, max: 100), current, new AutoscaleMetrics { CpuPercent = cpu }, Warm, T0);

        Assert.Equal(expected, decision.Desired);
    }

    [Fact]
    public void Rate_limit_counts_from_the_start_of_the_period()
    {
        var hot = new AutoscaleMetrics { CpuPercent = 600 };
        var first = Autoscaler.Decide(Web, Cpu(60, max: 100), 2, hot, Warm, T0);
        var second = Autoscaler.Decide(Web, Cpu(60, max: 100), first.Desired, hot, first.State, T0.AddSeconds(5));
        var third = Autoscaler.Decide(Web, Cpu(60, max: 100), second.Desired, hot, second.State, T0.AddSeconds(20));

        Assert.Equal(6, first.Desired);
        Assert.False(second.Changed);
        Assert.Contains("rate limit", second.Reason, StringComparison.Ordinal);
        Assert.Equal(12, third.Desired);
    }

    [Fact]
    public void Scale_down_rate_limit_removes_at_most_the_configured_fraction()
    {
        var options = new AutoscalerOptions { ScaleDownMaxFraction = 0.5 };

        var decision = Autoscaler.Decide(Web, Cpu(60), 10, new AutoscaleMetrics { CpuPercent = 6 }, Warm, T0, options);

        Assert.Equal(5, decision.Desired);
        Assert.Contains("rate limit", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Idle_service_with_min_zero_scales_to_zero_after_idle_after()
    {
        var policy = new AutoscalePolicy { Min = 0, Max = 5, Cpu = new Percentage(60), IdleAfter = TimeSpan.FromMinutes(5) };
        var metrics = new AutoscaleMetrics { CpuPercent = 1, LastConnectionAt = T0 };

        var early = Autoscaler.Decide(Web, policy, 2, metrics, Warm, T0.AddMinutes(4));
        var idle = Autoscaler.Decide(Web, policy, 2, metrics, early.State, T0.AddMinutes(5));

        Assert.NotEqual(0, early.Desired);
        Assert.Equal(0, idle.Desired);
        Assert.Equal("web 2 → 0: no connection for 5m (idleAfter 5m)", idle.Reason);
    }

    [Fact]
    public void Open_connection_keeps_an_idle_service_from_scaling_to_zero()
    {
        var policy = new AutoscalePolicy { Min = 0, Max = 5, Cpu = new Percentage(60), IdleAfter = TimeSpan.FromMinutes(5) };
        var metrics = new AutoscaleMetrics { CpuPercent = 60, LastConnectionAt = T0, ActiveConnections = 1 };

        var decision = Autoscaler.Decide(Web, policy, 1, metrics, Warm, T0.AddHours(1));

        Assert.Equal(1, decision.Desired);
    }

    [Theory]
    // connections waiting at the mesh, min, expected, reason
    [InlineData(0, 0, 0, "web stays at 0: idle, no connection waiting")]
    [InlineData(1, 0, 1, "web 0 → 1: a connection is waiting")]
    [InlineData(0, 2, 2, "web 0 → 2: below min 2")]
    public void Service_at_zero_wakes_on_a_waiting_connection(int pending, int min, int expected, string reason)
    {
        var policy = new AutoscalePolicy { Min = min, Max = 5, IdleAfter = TimeSpan.FromMinutes(5) };

        var decision = Autoscaler.Decide(Web, policy, 0, new AutoscaleMetrics { PendingConnections = pending }, Warm, T0);

        Assert.Equal(expected, decision.Desired);
        Assert.Equal(reason, decision.Reason);
    }

    [Fact]
    public void Decision_history_is_pruned_to_the_window()
    {
        var state = Warm;
        for (var i = 0; i < 100; i++)
        {
            state = Autoscaler.Decide(Web, Cpu(60), 3, new AutoscaleMetrics { CpuPercent = 60 }, state, T0.AddSeconds(15 * i)).State;
        }

        Assert.True(state.Recommendations.Count <= 21, $"{state.Recommendations.Count} recommendations kept");
        Assert.Empty(state.Events);
    }

    [Fact]
    public void Same_inputs_give_the_same_decision()
    {
        var a = Autoscaler.Decide(Web, Cpu(60), 3, new AutoscaleMetrics { CpuPercent = 140 }, Warm, T0);
        var b = Autoscaler.Decide(Web, Cpu(60), 3, new AutoscaleMetrics { CpuPercent = 140 }, Warm, T0);

        Assert.Equal(a.Desired, b.Desired);
        Assert.Equal(a.Reason, b.Reason);
        Assert.Equal(a.State.Recommendations, b.State.Recommendations);
    }
}
