using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Autoscaling;
using static Fleet.Core.State.AutoscaleProtocol;

namespace Fleet.Scheduling.Tests.Autoscaling;

public sealed class UsageWindowTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");
    private static readonly ReplicaId A = ReplicaId.Parse("web-aaaaa");
    private static readonly ReplicaId B = ReplicaId.Parse("web-bbbbb");

    private static ServiceSpec Spec(int replicas = 2, AutoscalePolicy? policy = null) =>
        Specs.Service("web", replicas, cpu: "200m", memory: "100Mi") with
        {
            Autoscale = policy ?? new AutoscalePolicy
            {
                Max = 10, Cpu = new Percentage(50), Memory = new Percentage(80), RequestsPerSecond = 20,
                Metric = new CustomMetricTarget(9090, "/metrics", "queue_depth", 5),
            },
        };

    private static UsageSample Sample(NodeName node, double seconds, long connections, params ReplicaUsage[] replicas) =>
        new(node, T0.AddSeconds(seconds), [new ServiceUsage(Web, connections, 1, 0, replicas)]);

    private static UsageWindow Receive(params UsageSample[] samples) =>
        samples.Aggregate(UsageWindow.Empty, (w, s) => w.Add(s, s.At, TimeSpan.FromMinutes(1)));

    [Fact]
    public void Cpu_is_the_mean_rate_per_replica_as_a_percentage_of_the_request()
    {
        // A uses 0.2 cpu (100 % of 200m), B 0.1 cpu (50 %), each over its own two samples.
        var window = Receive(
            Sample(Node1, 0, 0, new ReplicaUsage(A, 5, 0, null)),
            Sample(Node2, 0.5, 0, new ReplicaUsage(B, 1, 0, null)),
            Sample(Node1, 4, 0, new ReplicaUsage(A, 5.8, 0, null)),
            Sample(Node2, 2.5, 0, new ReplicaUsage(B, 1.2, 0, null)));

        var reading = window.Measure(Spec(), [A, B], T0.AddSeconds(5), Window);

        Assert.Equal(75, reading.Metrics.CpuPercent!.Value, 6);
        Assert.True(reading.Sampled);
    }

    [Fact]
    public void Memory_and_custom_metric_are_the_newest_values_averaged_over_the_replicas()
    {
        var window = Receive(
            Sample(Node1, 0, 0, new ReplicaUsage(A, 0, 10L << 20, 1), new ReplicaUsage(B, 0, 10L << 20, 1)),
            Sample(Node1, 1, 0, new ReplicaUsage(A, 0, 60L << 20, 8), new ReplicaUsage(B, 0, 100L << 20, null)));

        var metrics = window.Measure(Spec(), [A, B], T0.AddSeconds(1), Window).Metrics;

        Assert.Equal(80, metrics.MemoryPercent!.Value, 6);
        Assert.Equal(8, metrics.CustomValue);
    }

    [Fact]
    public void Requests_per_second_add_up_over_every_nodes_mesh_and_the_reading_is_per_replica()
    {
        var window = Receive(
            Sample(Node1, 0, 1000), Sample(Node1, 2, 1100),   // 50/s
            Sample(Node2, 7, 10), Sample(Node2, 8, 40));      // 30/s by node2's own clock

        var reading = window.Measure(Spec(replicas: 2), [A, B], T0.AddSeconds(9), Window);

        Assert.Equal(80, reading.Metrics.RequestsPerSecond!.Value, 6);
        Assert.Equal(new("rps", 40.0, 20), reading.Readings.Single(r => r.Metric == "rps"));
        Assert.Equal(["cpu", "memory", "rps", "queue_depth"], reading.Readings.Select(r => r.Metric));
    }

    [Fact]
    public void Only_active_replicas_count_and_a_replica_with_one_sample_has_no_cpu_rate_yet()
    {
        var stopping = ReplicaId.Parse("web-sssss");
        var window = Receive(
            Sample(Node1, 0, 0, new ReplicaUsage(A, 0, 0, null), new ReplicaUsage(stopping, 0, 0, null)),
            Sample(Node1, 1, 0, new ReplicaUsage(A, 0.1, 0, null), new ReplicaUsage(stopping, 1, 0, null), new ReplicaUsage(B, 3, 0, null)));

        var metrics = window.Measure(Spec(), [A, B], T0.AddSeconds(1), Window).Metrics;

        Assert.Equal(50, metrics.CpuPercent!.Value, 6); // A alone: 0.1 cpu of 200m
    }

    [Fact]
    public void Samples_outside_the_window_and_counter_resets_are_not_rates()
    {
        var window = Receive(
            Sample(Node1, 0, 5000, new ReplicaUsage(A, 100, 0, null)),
            Sample(Node1, 20, 5100, new ReplicaUsage(A, 101, 0, null)),
            Sample(Node1, 25, 10, new ReplicaUsage(A, 0.5, 0, null)));   // fleetd and the replica restarted

        var metrics = window.Measure(Spec(), [A], T0.AddSeconds(25), Window).Metrics;

        Assert.Null(metrics.CpuPercent);
        Assert.Null(metrics.RequestsPerSecond);
    }

    [Fact]
    public void Without_a_cpu_request_or_any_sample_nothing_is_measured()
    {
        var window = Receive(Sample(Node1, 0, 0, new ReplicaUsage(A, 0, 1 << 20, null)), Sample(Node1, 1, 0, new ReplicaUsage(A, 1, 1 << 20, null)));
        var unrequested = Spec() with { Resources = new ResourceRequest() };

        var metrics = window.Measure(unrequested, [A], T0.AddSeconds(1), Window).Metrics;
        var nothing = UsageWindow.Empty.Measure(Spec(), [A], T0, Window);

        Assert.Null(metrics.CpuPercent);
        Assert.Null(metrics.MemoryPercent);
        Assert.False(nothing.Sampled);
        Assert.All(nothing.Readings, r => Assert.Null(r.Value));
    }

    [Fact]
    public void A_node_clock_that_goes_back_starts_its_series_anew_and_prune_forgets_silent_nodes()
    {
        var window = Receive(Sample(Node1, 10, 100), Sample(Node1, 5, 0), Sample(Node2, 5, 0));

        Assert.Single(window.Samples["node1"]);
        var pruned = window.Prune(T0.AddSeconds(30), TimeSpan.FromSeconds(10));
        Assert.Empty(pruned.Samples);
    }
}
