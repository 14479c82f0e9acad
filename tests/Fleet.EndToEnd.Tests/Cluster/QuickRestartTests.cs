namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// QuickRestartTests: a fleetd killed (kill -9) and started again within seconds on the same
/// address — a crash and a restart by the service manager — rejoins as a new incarnation and
/// every member keeps hearing every other. The restarts fall around Akka.Remote's 5 s gate, when
/// the other members are reconnecting to the dead address just as the new fleetd connects to
/// them: with Akka's default of writing over the peer's inbound connection, that race left a
/// connection nobody read, the members marked each other unreachable seconds after the rejoin,
/// and the split brain resolver downed healthy nodes (see FleetAkkaHosting.Connections). The
/// memory driver keeps this about membership, not containers.
/// </summary>
public sealed class QuickRestartTests
{
    /// <summary>
    /// Seconds between the survivors marking the killed fleetd unreachable (≈ 4 s after the kill)
    /// and starting it again: its new incarnation then connects to them just as their 5 s gate on
    /// its address opens, where the race was (as in bench/failover, which restarts the node once
    /// its replicas have failed over).
    /// </summary>
    private static readonly double[] RestartDelays = [0.0, 0.5, 1.0];

    /// <summary>
    /// Watch is how long every member must go on hearing every other once the new incarnation is
    /// Up: heartbeats start then, and a member stops being heard after the 3 s acceptable pause
    /// plus phi's margin, so a broken link shows within ≈ 6 s.
    /// </summary>
    private static readonly TimeSpan Watch = TimeSpan.FromSeconds(12);

    /// <summary>Trouble are log lines that must not appear once the new incarnation is Up.</summary>
    private static readonly string[] Trouble = ["Marking node(s) as UNREACHABLE", "SBR took decision", "building a new one to rejoin"];

    [Fact]
    public void A_fleetd_killed_and_restarted_within_seconds_rejoins_and_no_member_loses_another() =>
        FleetCluster.Run(new FleetClusterOptions { Driver = "memory" }, RestartAndWatch);

    private static void RestartAndWatch(FleetCluster cluster)
    {
        var api = cluster.Node("node1");
        var restarted = cluster.Node("node3");
        var survivors = cluster.Nodes.Where(n => n != restarted).ToList();
        api.CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(TestPorts.Free(), replicas: 3)));
        cluster.WaitHealthy("web", 3);
        var upLine = $"Leader is moving node [akka.tcp://fleet@{restarted.Address}:{restarted.Ports.Cluster}] to [Up]";

        foreach (var delay in RestartDelays)
        {
            var beforeKill = survivors.ToDictionary(n => n, n => n.Fleetd.Log.Length);
            restarted.KillFleetd();
            cluster.Eventually(() => survivors.Any(n => n.Fleetd.Log[beforeKill[n]..].Contains("Marking node(s) as UNREACHABLE", StringComparison.Ordinal)),
                () => $"{restarted.Name} marked unreachable after kill -9", TimeSpan.FromSeconds(30));
            Thread.Sleep(TimeSpan.FromSeconds(delay));
            restarted.StartFleetd();
            cluster.Eventually(() => survivors.Any(n => n.Fleetd.Log[beforeKill[n]..].Contains(upLine, StringComparison.Ordinal)),
                () => $"{restarted.Name} restarted {delay:0.0} s after it was unreachable to be Up again", TimeSpan.FromSeconds(90));

            var afterUp = cluster.Nodes.ToDictionary(n => n, n => n.Fleetd.Log.Length);
            Thread.Sleep(Watch);
            foreach (var node in cluster.Nodes)
            {
                var since = node.Fleetd.Log[afterUp[node]..];
                foreach (var trouble in Trouble)
                {
                    Assert.False(since.Contains(trouble, StringComparison.Ordinal),
                        $"{node.Name} logged \"{trouble}\" within {Watch.TotalSeconds:0} s of {restarted.Name} rejoining (restarted {delay:0.0} s after it was unreachable)\n{cluster.LogTails(60)}");
                }
            }
        }

        // Both ways work with the last incarnation: the controller places replicas on it and hears them healthy.
        api.CtlOk("scale", "web", "--replicas", "6");
        var web = cluster.WaitHealthy("web", 6, TimeSpan.FromSeconds(90));
        Assert.True(cluster.PerNode(web)[restarted.Name] > 0, $"no web replica on the restarted {restarted.Name}: {string.Join(", ", web.Select(r => $"{r.Id}@{r.Node}"))}");
    }
}
