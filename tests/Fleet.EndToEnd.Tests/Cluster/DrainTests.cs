namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// DrainTests drain a node of a 3-node cluster of real fleetd processes with real containers:
/// `fleetctl drain` waits until every replica has moved off (each replacement healthy before
/// its old replica stops), and a request loop through the routing mesh on another node's
/// address meanwhile gets no failed request.
/// </summary>
public sealed class DrainTests
{
    [Fact]
    public async Task Drain_moves_everything_off_a_node_with_no_failed_request_through_the_mesh()
    {
        using var cluster = FleetCluster.Start();
        var image = cluster.HelloWebImage();
        var api = cluster.Node("node2");
        var port = TestPorts.Free();
        api.CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(port, image: image, replicas: 3)));
        var before = cluster.WaitHealthy("web", 3, TimeSpan.FromSeconds(150));
        Assert.Equal(new Dictionary<string, int> { ["node1"] = 1, ["node2"] = 1, ["node3"] = 1 }, cluster.PerNode(before));
        var mesh = cluster.Node("node3").Address;
        cluster.Eventually(() => HelloWeb.Get(mesh, port) is not null, () => $"web answering through the mesh on {mesh}:{port}", TimeSpan.FromSeconds(120));

        // A bounded request loop through node3's mesh while node1 drains.
        using var load = new MeshLoad([mesh], port, TimeSpan.FromMinutes(3));
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));

        var drain = api.Ctl("drain", "node1", "--timeout", "3m");
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));
        load.StopAndAssertNoFailure("the drain", context: () => cluster.LogTails());

        Assert.True(drain.ExitCode == 0, $"drain exit {drain.ExitCode}:\n{drain.Stdout}\n{drain.Stderr}\n{cluster.LogTails()}");
        Assert.Contains("node node1 cordoned and draining", drain.Stdout, StringComparison.Ordinal);
        Assert.Contains("node/node1 drained", drain.Stdout, StringComparison.Ordinal);
        var after = cluster.WaitHealthy("web", 3, TimeSpan.FromSeconds(60));
        Assert.DoesNotContain(after, r => r.Node == "node1");
        Assert.Empty(after.Select(r => r.Id).Intersect(before.Where(r => r.Node == "node1").Select(r => r.Id)));

        var node1 = cluster.NodesView().Single(n => n.GetProperty("name").GetString() == "node1");
        Assert.Equal(("draining", 0), (node1.GetProperty("scheduling").GetString(), node1.GetProperty("replicas").GetInt32()));
        Assert.Matches("node1 +Ready,SchedulingDisabled ", api.CtlOk("get", "nodes").Stdout);
        Assert.Contains("node node1 draining", api.CtlOk("events").Stdout, StringComparison.Ordinal);

        var unknown = api.Ctl("drain", "node9");
        Assert.Equal((1, "error: node node9 not found (known nodes: node1, node2, node3)"), (unknown.ExitCode, unknown.Stderr.Trim()));

        // Uncordon: the node takes replicas again.
        Assert.Contains("node node1 uncordoned", api.CtlOk("uncordon", "node1").Stdout, StringComparison.Ordinal);
        api.CtlOk("scale", "web", "--replicas", "4");
        var scaled = cluster.WaitHealthy("web", 4, TimeSpan.FromSeconds(120));
        Assert.Single(scaled, r => r.Node == "node1");
    }
}
