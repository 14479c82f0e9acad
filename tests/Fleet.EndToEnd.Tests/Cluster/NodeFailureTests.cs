using System.Diagnostics;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// NodeFailureTests run node failure on 3 real fleetd processes with real containers: a worker
/// whose fleetd is frozen (SIGSTOP: unreachable, its containers keep running — what a cut-off
/// node looks like), then downed, then resumed (its fleetd rebuilds its ActorSystem, rejoins and
/// keeps its containers); and a worker that dies with its containers (kill -9 of everything, a
/// machine losing power). One cluster for both, to keep the group within its time budget.
/// </summary>
public sealed class NodeFailureTests
{
    private static readonly TimeSpan FailOver = TimeSpan.FromSeconds(60);

    private static IReadOnlyList<ReplicaView> Running(FleetCluster cluster, string service) =>
        cluster.Replicas(service).Where(r => r.State is "running" or "healthy").ToList();

    private static void Signal(FleetNode node, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", FleetNode.Num(node.Fleetd.Pid)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    private static string Describe(IEnumerable<ReplicaView> replicas) => string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}:{r.State}"));

    [Fact]
    public void A_frozen_node_never_has_its_stateful_replica_started_elsewhere_before_it_is_down_rejoins_when_resumed_and_a_dead_node_is_replaced() =>
        FleetCluster.Run(null, FreezeResumeAndKill);

    private static void FreezeResumeAndKill(FleetCluster cluster)
    {
        var image = cluster.HelloWebImage();
        var controlNode = cluster.Node("node1"); // the oldest member: it hosts the controller
        var webPort = TestPorts.Free();
        controlNode.CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(webPort, image: image, replicas: 6)));
        controlNode.CtlOk("apply", "-f", cluster.File("db.yaml",
            HelloWeb.ServiceYaml(TestPorts.Free(), name: "db", image: image, replicas: 1)
            + "stateful: true\nplacement:\n  constraints: [\"zone != z1\"]\n"));
        var web = cluster.WaitHealthy("web", 6, TimeSpan.FromSeconds(150));
        Assert.All(cluster.PerNode(web).Values, count => Assert.Equal(2, count));
        var db = Assert.Single(cluster.WaitHealthy("db", 1));
        var frozen = cluster.Node(db.Node);
        var other = cluster.Nodes.Single(n => n != controlNode && n != frozen);
        var frozenWeb = web.Where(r => r.Node == frozen.Name).Select(r => r.Id).ToList();
        var fleetdPid = frozen.Fleetd.Pid;

        // 1. Frozen: unreachable. Its web replicas are replaced at once; db waits until the node is down.
        Signal(frozen, "STOP");
        try
        {
            var clock = Stopwatch.StartNew();
            var downAt = TimeSpan.Zero;
            var webBackAt = TimeSpan.Zero;
            while (true)
            {
                var isDown = controlNode.Fleetd.Log.Split('\n').Any(line =>
                    line.Contains($"node {frozen.Name} (", StringComparison.Ordinal) && line.Contains(") is down", StringComparison.Ordinal));
                if (isDown && downAt == TimeSpan.Zero)
                {
                    downAt = clock.Elapsed;
                }
                var webElsewhere = Running(cluster, "web").Count(r => r.Node != frozen.Name);
                if (webElsewhere >= 6 && webBackAt == TimeSpan.Zero)
                {
                    webBackAt = clock.Elapsed;
                }
                var dbElsewhere = cluster.Replicas("db").Where(r => r.Node != frozen.Name).ToList();
                // Never a second copy before the node is down (its copy is still running, frozen or not).
                Assert.True(dbElsewhere.Count == 0 || isDown,
                    $"db started elsewhere at {clock.Elapsed.TotalSeconds:0.0}s while {frozen.Name} is not down: {Describe(dbElsewhere)}\n{cluster.LogTails()}");
                if (dbElsewhere.Count(r => r.State is "running" or "healthy") == 1 && webBackAt > TimeSpan.Zero)
                {
                    break;
                }
                Assert.True(clock.Elapsed < FailOver, $"not failed over in {FailOver}: web back at {webBackAt}, down at {downAt}\n{Describe(cluster.Replicas())}\n{cluster.LogTails()}");
                Thread.Sleep(250);
            }
            Assert.True(webBackAt <= downAt || downAt == TimeSpan.Zero || webBackAt - downAt < TimeSpan.FromSeconds(2),
                $"stateless replicas came back at {webBackAt.TotalSeconds:0.0}s, only after the node was down at {downAt.TotalSeconds:0.0}s");
        }
        finally
        {
            Signal(frozen, "CONT");
        }

        // 2. Resumed: its fleetd finds itself downed, builds a new ActorSystem and rejoins — same
        // process, same containers — and the replicas replaced meanwhile are stopped there.
        cluster.Eventually(() => frozen.Fleetd.Log.Contains("building a new one to rejoin", StringComparison.Ordinal),
            () => $"{frozen.Name} rebuilding its ActorSystem", TimeSpan.FromSeconds(60));
        Assert.Equal(fleetdPid, frozen.Fleetd.Pid);
        Assert.False(frozen.Fleetd.HasExited);
        cluster.Eventually(() => Running(cluster, "db").Count == 1 && cluster.Replicas("db").Count == 1
                                 && frozen.Runtime().List().Count(c => c.Id.StartsWith("db-", StringComparison.Ordinal)) == 0
                                 && frozen.Runtime().List().Count(c => c.Id.StartsWith("web-", StringComparison.Ordinal)) == 0,
            () => $"exactly one db and nothing on {frozen.Name}: {Describe(cluster.Replicas())}; {frozen.Name} runs {string.Join(",", frozen.Runtime().List().Select(c => c.Id))}",
            TimeSpan.FromSeconds(90));
        Assert.NotEqual(frozen.Name, Assert.Single(cluster.Replicas("db")).Node);
        web = cluster.WaitHealthy("web", 6, TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(web, r => frozenWeb.Contains(r.Id)); // replaced, and the old ones stopped

        // The rejoined node takes work again: it is Up in the controller's eyes.
        cluster.Eventually(() => controlNode.Fleetd.Log.Contains($"agent of node {frozen.Name} reported", StringComparison.Ordinal),
            () => $"{frozen.Name}'s new agent reporting", TimeSpan.FromSeconds(30));

        // Its routing mesh serves the published port again, from its new app.
        cluster.Eventually(() => HelloWeb.Get(frozen.Address, webPort) is not null,
            () => $"web answering through the mesh of the rejoined {frozen.Name} on {frozen.Address}:{webPort}", TimeSpan.FromSeconds(30));

        // 3. Dead machine: kill -9 of the other worker's fleetd and all its containers → 6 web
        // replicas running again on the two nodes left, and db back on the rejoined node; requests
        // through the mesh of both nodes left keep being answered meanwhile.
        var dead = other;
        var deadIds = cluster.Replicas().Where(r => r.Node == dead.Name).Select(r => r.Id).ToHashSet();
        using var load = new MeshLoad([controlNode.Address, frozen.Address], webPort, TimeSpan.FromMinutes(2));
        Thread.Sleep(500);
        var clockDead = Stopwatch.StartNew();
        dead.KillMachine();
        cluster.Eventually(() =>
            {
                var running = Running(cluster, "web");
                return running.Count(r => r.Node != dead.Name && r.State == "healthy") == 6;
            },
            () => $"6 healthy web replicas off {dead.Name}: {Describe(cluster.Replicas())}", FailOver);
        var webFailOver = clockDead.Elapsed;
        Thread.Sleep(1000);
        var tallies = load.Stop();
        Assert.True(tallies.Values.All(t => t.Failures.Count == 0 && t.Answered >= 5),
            $"requests through the mesh while {dead.Name} died: {MeshLoad.Describe(tallies)}\n{cluster.LogTails()}");
        cluster.Eventually(() => Running(cluster, "db").Count(r => r.Node == frozen.Name && r.State == "healthy") == 1,
            () => $"db back on {frozen.Name}: {Describe(cluster.Replicas("db"))}", FailOver);
        Assert.True(webFailOver < TimeSpan.FromSeconds(30), $"web took {webFailOver.TotalSeconds:0.0}s to be healthy elsewhere");

        // A dead machine leaves its containers' mounts and cgroups behind, as on disk; sweep them
        // now (by the ids it ran), so the live nodes' cleanup checks only what they left.
        var deadLeftovers = new List<string>();
        Leftovers.Sweep(dead, deadIds, deadLeftovers);
        Assert.DoesNotContain(deadLeftovers, l => l.StartsWith("cannot", StringComparison.Ordinal));
        Directory.CreateDirectory(dead.Root); // the sweep removed it; the cluster's cleanup removes it again
    }
}
