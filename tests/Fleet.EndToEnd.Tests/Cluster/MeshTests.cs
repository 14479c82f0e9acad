namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// MeshTests check the routing mesh across nodes with 3 real fleetd processes on 127.0.0.1/2/3:
/// a published port answers on every node — also on a node that runs no replica — and each node
/// spreads connections over the replicas of every node (the page names the replica that served
/// it); a replica that is stopped gets no further connections on any node.
/// </summary>
public sealed class MeshTests
{
    private const int RequestsPerRound = 12;

    [Fact]
    public void A_published_port_is_served_on_every_node_by_replicas_anywhere_and_a_stopped_replica_leaves_every_mesh()
    {
        using var cluster = FleetCluster.Start();
        var image = cluster.HelloWebImage();
        var port = TestPorts.Free();
        // Three replicas kept off node3 (zone z3): node3's mesh can only answer through the others.
        var yaml = HelloWeb.ServiceYaml(port, image: image, replicas: 3) + "placement: { constraints: [\"zone != z3\"] }\n";
        cluster.Node("node1").CtlOk("apply", "-f", cluster.File("web.yaml", yaml));
        var replicas = cluster.WaitHealthy("web", 3, TimeSpan.FromSeconds(150));
        var where = string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}"));
        Assert.Equal(0, cluster.PerNode(replicas)["node3"]);
        Assert.True(cluster.PerNode(replicas).Count(c => c.Value > 0) == 2, $"the replicas should spread over node1 and node2: {where}");
        var ids = replicas.Select(r => r.Id).ToHashSet();

        // Every node's mesh reaches every replica, its own and the other nodes'.
        foreach (var node in cluster.Nodes)
        {
            var seen = new HashSet<string>();
            cluster.Eventually(
                () =>
                {
                    seen.UnionWith(Answers(node.Address, port).Where(ids.Contains));
                    return seen.SetEquals(ids);
                },
                () => $"{node.Name} ({node.Address}:{port}) should be answered by all of {where}; saw {string.Join(", ", seen)}",
                TimeSpan.FromSeconds(30));
        }

        // Stop one replica (scale 3 → 2): once it is gone from the listing, no node sends it a connection.
        cluster.Node("node3").CtlOk("scale", "web", "--replicas", "2");
        var kept = cluster.WaitHealthy("web", 2, TimeSpan.FromSeconds(60)).Select(r => r.Id).ToHashSet();
        var stopped = Assert.Single(ids.Except(kept));
        var stoppedOn = replicas.Single(r => r.Id == stopped).Node;
        Thread.Sleep(TimeSpan.FromSeconds(1)); // four feeder rounds
        foreach (var node in cluster.Nodes)
        {
            var answers = Answers(node.Address, port);
            Assert.True(answers.Count == RequestsPerRound, $"{node.Name}: {RequestsPerRound - answers.Count} of {RequestsPerRound} requests failed after {stopped} (on {stoppedOn}) stopped\n{cluster.LogTails()}");
            Assert.DoesNotContain(stopped, answers);
            Assert.Equal(kept.Order(), answers.Distinct().Order());
        }
    }

    /// <summary>Answers asks http://HOST:PORT/ <see cref="RequestsPerRound"/> times, each on a new connection, and returns the replica each answer names.</summary>
    private static List<string> Answers(string host, int port)
    {
        var answers = new List<string>();
        for (var i = 0; i < RequestsPerRound; i++)
        {
            if (HelloWeb.Get(host, port, TimeSpan.FromSeconds(5)) is { } body && body.StartsWith("hello from ", StringComparison.Ordinal))
            {
                answers.Add(body["hello from ".Length..].Trim());
            }
        }
        return answers;
    }
}
