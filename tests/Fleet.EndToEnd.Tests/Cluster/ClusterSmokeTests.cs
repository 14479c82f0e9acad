namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// ClusterSmokeTests check the 3-node harness itself: three fleetd processes from one
/// cluster.yaml form one cluster, every node answers for the whole cluster, and a service's
/// replicas run on more than one node from an image every node pulled from node1's registry.
/// </summary>
public sealed class ClusterSmokeTests
{
    [Fact]
    public void Three_fleetd_processes_form_one_cluster_and_run_one_service_across_nodes()
    {
        using var cluster = FleetCluster.Start();
        foreach (var node in cluster.Nodes)
        {
            var names = node.Json("get", "nodes").EnumerateArray().Select(n => n.GetProperty("name").GetString()).Order().ToList();
            Assert.Equal(["node1", "node2", "node3"], names);
        }

        var image = cluster.HelloWebImage();
        var port = FleetdProcess.FreePort();
        cluster.Node("node2").CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(port, image: image, replicas: 3)));
        var replicas = cluster.WaitHealthy("web", 3, TimeSpan.FromSeconds(150));

        Assert.True(cluster.PerNode(replicas).Count(c => c.Value > 0) > 1, $"3 replicas all on one node: {string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}"))}");
        Assert.Equal(replicas.Select(r => r.Id).Order(), cluster.Node("node3").Replicas("web").Select(r => r.Id).Order());
    }
}
