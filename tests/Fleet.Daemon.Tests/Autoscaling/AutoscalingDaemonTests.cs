using Fleet.Core.Specs;
using Fleet.Daemon.Autoscaling;

namespace Fleet.Daemon.Tests.Autoscaling;

/// <summary>The node side of the autoscaler: reading a replica's own metric, and the cluster file's settings reaching fleetd.</summary>
public sealed class AutoscalingDaemonTests
{
    private const string Exposition = """
        # HELP queue_depth Jobs waiting.
        # TYPE queue_depth gauge
        queue_depth{queue="mail"} 3
        queue_depth{queue="video",priority="high"} 4.5 1700000000000
        queue_depth_max 100
        http_requests_total{code="200"} 1027
        queue_depth NaN
        """;

    [Theory]
    [InlineData("queue_depth", 7.5)]
    [InlineData("queue_depth_max", 100.0)]
    [InlineData("http_requests_total", 1027.0)]
    public void A_metric_is_the_sum_of_its_series(string name, double expected)
    {
        Assert.Equal(expected, PrometheusText.TryRead(Exposition, name));
    }

    [Theory]
    [InlineData("queue")]
    [InlineData("missing_metric")]
    public void A_metric_that_is_not_exposed_is_not_measured(string name)
    {
        Assert.Null(PrometheusText.TryRead(Exposition, name));
    }

    [Fact]
    public void The_cluster_files_autoscaler_settings_reach_fleetd()
    {
        const string yaml = """
            kind: Cluster
            name: c
            autoscaler: { interval: 2s, sampleInterval: 500ms, window: 4s }
            nodes:
              - { name: node1, address: 10.1.0.1 }
            """;
        var errors = new List<string>();

        var options = DaemonOptions.Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node1" }, _ => yaml, errors);

        Assert.Empty(errors);
        Assert.Equal(new AutoscalerSettings { Interval = TimeSpan.FromSeconds(2), SampleInterval = TimeSpan.FromMilliseconds(500), Window = TimeSpan.FromSeconds(4) },
            options!.Autoscaler);
    }
}
