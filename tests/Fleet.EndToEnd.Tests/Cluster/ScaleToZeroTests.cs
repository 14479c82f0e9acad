using System.Diagnostics;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// ScaleToZeroTests run a service with <c>autoscale: { min: 0, idleAfter: 3s }</c> on 2 real
/// fleetd processes (127.0.0.1/2) with real containers: with no connection it goes to 0
/// replicas with a journaled reason; the first connection after that — through node2's mesh — is
/// held, wakes the service on node2 and is answered with the page; after the next idle spell,
/// several first connections at once on both nodes are all answered.
/// </summary>
public sealed class ScaleToZeroTests
{
    private static readonly TimeSpan Answer = TimeSpan.FromSeconds(25);

    [Fact]
    public async Task An_idle_service_goes_to_zero_and_its_first_connections_wake_it_and_are_answered()
    {
        using var cluster = FleetCluster.Start(new FleetClusterOptions { Nodes = 2 });
        var image = cluster.HelloWebImage();
        var port = TestPorts.Free();
        // Two replicas spread over both nodes first, so each node has the image when it wakes.
        var yaml = HelloWeb.ServiceYaml(port, image: image, replicas: 2) + "autoscale: { min: 0, max: 3, idleAfter: 3s, wakeTimeout: 40s }\n";
        var node1 = cluster.Node("node1");
        var node2 = cluster.Node("node2");
        node1.CtlOk("apply", "-f", cluster.File("web.yaml", yaml));
        var first = cluster.WaitHealthy("web", 2, TimeSpan.FromSeconds(120));
        Assert.Equal(1, cluster.PerNode(first)["node2"]);

        // Idle for 3 s: scaled to zero, and the reason is in `events` and in describe.
        WaitZero(cluster);
        var events = node1.CtlOk("events").Stdout;
        Assert.Contains("web 2 → 0: no connection for", events, StringComparison.Ordinal); // no connection at all yet
        Assert.Contains("(idleAfter 3s)", node2.CtlOk("describe", "service", "web").Stdout, StringComparison.Ordinal);

        // The first connection, through node2's mesh, is held until a replica is healthy, then answered.
        var clock = Stopwatch.StartNew();
        var body = HelloWeb.Get(node2.Address, port, Answer);
        var took = clock.Elapsed;
        Assert.True(body?.StartsWith("hello from web-", StringComparison.Ordinal) == true,
            $"the first connection after scale to zero should be answered with the page, got `{body}` after {took.TotalSeconds:0.0}s\n{cluster.LogTails()}");
        var woken = Assert.Single(cluster.Replicas("web"));
        Assert.Equal("node2", woken.Node); // started where the connection waited: no hop between nodes
        Assert.Equal($"hello from {woken.Id}", body);
        Assert.Contains("web 0 → 1: a connection is waiting on node2", node1.CtlOk("events").Stdout, StringComparison.Ordinal);

        // Idle again → zero; then four first connections at once, on both nodes: every one answered.
        WaitZero(cluster);
        var answers = Enumerable.Range(0, 4)
            .Select(i => Task.Run(() => HelloWeb.Get((i % 2 == 0 ? node1 : node2).Address, port, Answer)))
            .ToArray();
        var bodies = await Task.WhenAll(answers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(bodies.All(b => b?.StartsWith("hello from web-", StringComparison.Ordinal) == true),
            $"every concurrent first connection should be answered: {string.Join(" | ", bodies.Select(b => b ?? "(none)"))}\n{cluster.LogTails()}");
    }

    private static void WaitZero(FleetCluster cluster) =>
        cluster.Eventually(
            () => cluster.Replicas("web").Count == 0,
            () => $"web should scale to zero after 3 s idle; replicas: {string.Join(", ", cluster.Replicas("web").Select(r => $"{r.Id}@{r.Node} {r.State}"))}\n{cluster.Live.Ctl("events").Stdout}",
            TimeSpan.FromSeconds(40));
}
