using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Autoscaling;

namespace Fleet.Scheduling.Tests.Autoscaling;

/// <summary>`fleetctl scale` on an autoscaled service: the autoscaler continues from the count set.</summary>
public sealed class ManualScaleTests
{
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly AutoscalePolicy Policy = new() { Min = 1, Max = 20, Cpu = new Percentage(50), ScaleDownDelay = TimeSpan.FromMinutes(5) };

    [Fact]
    public void A_count_set_by_hand_holds_against_low_load_for_the_stabilization_window_then_scales_down()
    {
        var state = Autoscaler.Decide(Web, Policy, 2, new AutoscaleMetrics { CpuPercent = 10 }, new AutoscalerState { Since = T0.AddHours(-1) }, T0).State;

        state = Autoscaler.AfterManualScale(state, 2, 8, T0.AddSeconds(1));
        var held = Autoscaler.Decide(Web, Policy, 8, new AutoscaleMetrics { CpuPercent = 10 }, state, T0.AddMinutes(4));
        var later = Autoscaler.Decide(Web, Policy, 8, new AutoscaleMetrics { CpuPercent = 10 }, held.State, T0.AddMinutes(5).AddSeconds(2));

        Assert.Equal(8, held.Desired);
        Assert.Contains("but 8 was recommended within the 5m stabilization window", held.Reason, StringComparison.Ordinal);
        Assert.Equal(2, later.Desired);
        Assert.Equal("web 8 → 2: cpu 10 % of target 50 %", later.Reason);
    }

    [Fact]
    public void A_count_set_by_hand_still_scales_up_at_once_under_load()
    {
        var state = Autoscaler.AfterManualScale(AutoscalerState.Initial, 2, 3, T0);

        var decision = Autoscaler.Decide(Web, Policy, 3, new AutoscaleMetrics { CpuPercent = 100 }, state, T0.AddSeconds(5));

        Assert.Equal(6, decision.Desired);
        Assert.Equal("web 3 → 6: cpu 100 % of target 50 %", decision.Reason);
    }
}
