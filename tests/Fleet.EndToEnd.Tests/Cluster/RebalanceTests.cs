namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// RebalanceTests: a third node joins a 2-node cluster of real fleetd processes running 6 real
/// replicas (3/3). After the settle delay the controller moves two of them to it, one surge-first
/// move at a time per service, until the cluster runs 2/2/2 — and a request loop through the
/// routing mesh of node1 meanwhile gets no failed request. Each move is an event with its reason,
/// and `fleetctl rebalance --dry-run` then finds nothing to move.
/// </summary>
public sealed class RebalanceTests
{
    [Fact]
    public async Task A_third_node_joining_two_running_six_replicas_gets_two_with_no_failed_request_through_the_mesh()
    {
        using var cluster = FleetCluster.Start(new FleetClusterOptions
        {
            Later = i => i == 2,
            ClusterExtra = "rebalance: { settleDelay: 2s, maxConcurrent: 2 }\n",
        });
        var image = cluster.HelloWebImage();
        var node1 = cluster.Node("node1");
        var port = TestPorts.Free();
        node1.CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(port, image: image, replicas: 6)));
        var before = cluster.WaitHealthy("web", 6, TimeSpan.FromSeconds(150));
        Assert.Equal(new Dictionary<string, int> { ["node1"] = 3, ["node2"] = 3, ["node3"] = 0 }, cluster.PerNode(before));
        cluster.Eventually(() => HelloWeb.Get(node1.Address, port) is not null, () => $"web answering through the mesh on {node1.Address}:{port}", TimeSpan.FromSeconds(60));

        // A bounded request loop through node1's mesh while node3 joins and replicas move to it.
        using var load = new MeshLoad([node1.Address], port, TimeSpan.FromMinutes(3));
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));

        cluster.Join("node3", expectedNodes: 3);
        IReadOnlyDictionary<string, int> perNode = new Dictionary<string, int>();
        cluster.Eventually(
            () =>
            {
                var replicas = cluster.Replicas("web");
                perNode = cluster.PerNode(replicas);
                return replicas.Count == 6 && replicas.All(r => r.State == "healthy") && perNode.Values.All(c => c == 2);
            },
            () => $"web at 2/2/2, all healthy; now {string.Join(", ", perNode.Select(p => $"{p.Key}={p.Value}"))}\n{node1.Ctl("get", "replicas", "-o", "wide").Stdout}",
            TimeSpan.FromSeconds(90));
        Thread.Sleep(TimeSpan.FromSeconds(1)); // the last originals stop after their grace period; keep asking meanwhile
        load.WaitAnswered(5, TimeSpan.FromSeconds(30));
        load.StopAndAssertNoFailure("the rebalance", context: () => cluster.LogTails());

        var after = cluster.Replicas("web");
        var moved = before.Select(r => r.Id).Except(after.Select(r => r.Id)).ToList();
        Assert.Equal(2, moved.Count); // exactly two moved; the other four never stopped
        Assert.All(after.Where(r => r.Node == "node3"), r => Assert.DoesNotContain(r.Id, before.Select(b => b.Id)));

        var events = node1.CtlOk("events").Stdout;
        foreach (var id in moved)
        {
            Assert.Matches($@"rebalance: {id} node[12] → node3: spread: node[12] has \d of web, node3 has \d \(node node3 joined\)", events);
        }
        var dryRun = node1.CtlOk("rebalance", "--dry-run");
        Assert.Contains("nothing to move", dryRun.Stdout, StringComparison.Ordinal);
    }
}
