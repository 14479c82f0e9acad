using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Node.Tests.Replicas;

/// <summary>Start-up probing: a new replica is probed at once and often until its first success, while failures count only once per interval.</summary>
public sealed class StartupProbingTests : IDisposable
{
    private readonly NodeSandbox _node = new();

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task A_replica_is_Healthy_long_before_its_first_interval_and_early_failures_do_not_count()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("quick");
        // httpd answers only after 1.5 s: the probes before fail (connection refused). With one
        // retry allowed, any of them counted would make the replica Unhealthy.
        var spec = _node.Service("quick", "echo ok > /tmp/index.html; sleep 1.5; exec httpd -f -p 8080 -h /tmp") with
        {
            Health = new HealthCheck { Probe = new HttpProbe("/", 8080), Interval = TimeSpan.FromMinutes(2), Timeout = TimeSpan.FromSeconds(5), Retries = 1 },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);

        var running = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        var healthy = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Healthy, "Healthy", seconds: 30);

        Assert.Equal(ReplicaHealth.Healthy, healthy.Health);
        Assert.DoesNotContain(_node.Observer.History(id), s => s.Health == ReplicaHealth.Unhealthy);
        Assert.Equal(0, healthy.Restarts);
        // Without start-up probing the first probe would wait the 2 min interval.
        Assert.True(DateTimeOffset.UtcNow - running.StartedAt!.Value < TimeSpan.FromSeconds(30), $"healthy {DateTimeOffset.UtcNow - running.StartedAt} after the start");
    }

    [Fact]
    public async Task A_replica_that_never_answers_is_Unhealthy_only_after_its_retries_at_the_interval()
    {
        var driver = _node.Driver();
        var id = NodeSandbox.Id("mute");
        var spec = _node.Service("mute", "exec sleep 1000") with
        {
            Restart = RestartPolicy.Never,
            Health = new HealthCheck { Probe = new TcpProbe(8080), Interval = TimeSpan.FromSeconds(1), Timeout = TimeSpan.FromSeconds(1), Retries = 3 },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);

        var running = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Running, "Running");
        var unhealthy = _node.Observer.WaitFor(id, s => s.Health == ReplicaHealth.Unhealthy, "Unhealthy", seconds: 60);

        // Three counted failures, the first one interval after the start and one interval apart:
        // at least 3 s, although refused connections are probed every few tens of ms at first.
        var after = DateTimeOffset.UtcNow - running.StartedAt!.Value;
        Assert.True(after >= TimeSpan.FromSeconds(3), $"unhealthy after only {after}");
        Assert.StartsWith("health check failed: ", unhealthy.Reason, StringComparison.Ordinal);
    }
}
