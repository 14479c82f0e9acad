using Fleet.Core.Specs;
using static Fleet.Core.Tests.Specs.SpecAssert;

namespace Fleet.Core.Tests.Specs;

/// <summary>The cluster file's `autoscaler:` block.</summary>
public sealed class AutoscalerSettingsTests
{
    private const string Head = "kind: Cluster\nname: c\nnodes:\n  - { name: a, address: 127.0.0.1 }\n";

    [Fact]
    public void Without_the_block_the_autoscaler_evaluates_every_5s_over_5s_of_1s_samples()
    {
        var cluster = Assert.Single(SpecLoader.Load(FileName, Head).Clusters);

        Assert.Equal(new AutoscalerSettings(), cluster.Autoscaler);
        Assert.Equal((TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)),
            (cluster.Autoscaler.Interval, cluster.Autoscaler.SampleInterval, cluster.Autoscaler.Window));
    }

    [Fact]
    public void The_block_sets_interval_sample_interval_and_window()
    {
        var set = SpecLoader.Load(FileName, Head + "autoscaler: { interval: 1s, sampleInterval: 250ms, window: 3s }\n");

        Assert.True(set.IsValid, string.Join("\n", set.Diagnostics));
        Assert.Equal(new AutoscalerSettings { Interval = TimeSpan.FromSeconds(1), SampleInterval = TimeSpan.FromMilliseconds(250), Window = TimeSpan.FromSeconds(3) },
            Assert.Single(set.Clusters).Autoscaler);
    }

    [Theory]
    [InlineData("autoscaler: { interval: 0s }\n", 5, 25, "autoscaler.interval: must be longer than 0")]
    [InlineData("autoscaler: { interval: 5 }\n", 5, 25, "invalid duration `5`")]
    [InlineData("autoscaler: { sampleInterval: 2s, window: 3s }\n", 5, 43, "autoscaler.window: 3s must span at least two samples (4s)")]
    [InlineData("autoscaler: { period: 2s }\n", 5, 15, "unknown key `period` in `autoscaler`")]
    public void Autoscaler_mistake_is_reported_at_its_place(string tail, int line, int column, string message)
    {
        SingleError(Head + tail, line, column, message);
    }
}
