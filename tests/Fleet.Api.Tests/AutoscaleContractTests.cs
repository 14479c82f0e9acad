using Fleet.Api.V1;
using Google.Protobuf;

namespace Fleet.Api.Tests;

public sealed class AutoscaleContractTests
{
    [Fact]
    public void A_reading_not_measured_is_unset_not_zero()
    {
        var status = new AutoscaleStatus { Service = "web", Min = 1, Max = 5, Replicas = 3, LastReason = "web 1 → 3: cpu 140 % of target 60 %" };
        status.Readings.Add(new AutoscaleReading { Metric = "cpu", Value = 0, Target = 60 });
        status.Readings.Add(new AutoscaleReading { Metric = "rps", Target = 100 });

        var back = AutoscaleStatus.Parser.ParseFrom(status.ToByteArray());

        Assert.Equal(status, back);
        Assert.True(back.Readings[0].HasValue);
        Assert.False(back.Readings[1].HasValue);
    }
}
