using Fleet.Cluster.Hosting;

namespace Fleet.Cluster.Tests.Hosting;

/// <summary>The configuration a node gets from <see cref="FleetAkkaHosting.AddFleetNode"/>, read back from its running ActorSystem.</summary>
public sealed class NodeConfigTests
{
    [Fact]
    public async Task A_node_ticks_its_scheduler_every_50_ms_and_its_timers_still_fire()
    {
        using var dir = new TempDir();
        await using var node = await HostedNode.StartAsync(dir.Path);

        Assert.Equal(TimeSpan.FromMilliseconds(50), node.System.Settings.Config.GetTimeSpan("akka.scheduler.tick-duration", null));
        Assert.Equal(TimeSpan.FromSeconds(1), node.System.Settings.Config.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval", null));

        // A timer shorter than a tick fires on the next tick.
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        node.System.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(1), () => fired.SetResult());
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_node_writes_to_a_peer_only_over_the_connection_it_opened_itself()
    {
        using var dir = new TempDir();
        await using var node = await HostedNode.StartAsync(dir.Path);

        // See FleetAkkaHosting.Connections: reusing inbound connections for writing lost every
        // message between two members after a quick restart (QuickRestartTests in EndToEnd).
        Assert.False(node.System.Settings.Config.GetBoolean("akka.remote.use-passive-connections", true));
        Assert.False(new Akka.Remote.RemoteSettings(node.System.Settings.Config).UsePassiveConnections);
    }
}
