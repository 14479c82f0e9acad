namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// SchedulingTests run the scheduler against 3 real fleetd processes and real containers:
/// replicas of one service spread over the nodes, a label constraint keeps a service on the
/// matching node, and work that fits nowhere (a constraint no node meets, a memory request
/// larger than any node) is reported unschedulable in `describe` with every node's reason.
/// One cluster for all of it: starting one costs most of the time.
/// </summary>
public sealed class SchedulingTests
{
    [Fact]
    public void Spread_constraints_and_resources_are_respected_and_violations_say_why_per_node()
    {
        using var cluster = FleetCluster.Start();
        var image = cluster.HelloWebImage();
        var api = cluster.Node("node2");

        // Six replicas of one service spread 2/2/2.
        api.CtlOk("apply", "-f", cluster.File("web.yaml", HelloWeb.ServiceYaml(TestPorts.Free(), image: image, replicas: 6)));
        var web = cluster.WaitHealthy("web", 6, TimeSpan.FromSeconds(150));
        Assert.Equal(new Dictionary<string, int> { ["node1"] = 2, ["node2"] = 2, ["node3"] = 2 }, cluster.PerNode(web));

        // A constraint: every replica on the node labelled zone=z2; one no node meets; a request too big for any node.
        api.CtlOk("apply", "-f", cluster.File("zoned.yaml", Service("zoned", image, 2, "placement: { constraints: [\"zone == z2\"] }")));
        api.CtlOk("apply", "-f", cluster.File("nowhere.yaml", Service("nowhere", image, 1, "placement: { constraints: [\"zone == z9\"] }")));
        api.CtlOk("apply", "-f", cluster.File("huge.yaml", Service("huge", image, 1, "", resources: "{ cpu: 50m, memory: 4Ti }")));

        var zoned = cluster.WaitHealthy("zoned", 2, TimeSpan.FromSeconds(120));
        Assert.All(zoned, r => Assert.Equal("node2", r.Node));
        string? nowhere = null, huge = null;
        cluster.Eventually(() =>
        {
            nowhere = api.CtlOk("describe", "service", "nowhere").Stdout;
            huge = api.CtlOk("describe", "service", "huge").Stdout;
            return nowhere.Contains("unschedulable", StringComparison.Ordinal) && huge.Contains("unschedulable", StringComparison.Ordinal);
        }, () => $"unschedulable events in describe:\n{nowhere}\n{huge}", TimeSpan.FromSeconds(60));

        // Nodes that share a reason are grouped ("node1, node3: memory needs 4Ti, 3.6Gi free").
        foreach (var node in new[] { "node1", "node2", "node3" })
        {
            Assert.Matches($"{node}: constraint zone == z9 not met \\(zone is z\\d\\)", nowhere);
            Assert.Matches($"{node}(, node\\d)*: memory needs 4Ti, [0-9.]+[KMG]i free", huge);
        }
        Assert.Empty(cluster.Replicas("nowhere"));
        Assert.Empty(cluster.Replicas("huge"));

        // `get nodes` counts what is placed: 2 web each, plus 2 zoned on node2, with their requests.
        var nodes = cluster.NodesView().ToDictionary(n => n.GetProperty("name").GetString()!);
        Assert.Equal((2, 4, 2), (nodes["node1"].GetProperty("replicas").GetInt32(), nodes["node2"].GetProperty("replicas").GetInt32(), nodes["node3"].GetProperty("replicas").GetInt32()));
        Assert.Equal(4 * 50, nodes["node2"].GetProperty("cpu").GetProperty("used").GetInt64());
        Assert.Equal(4L * 16 << 20, nodes["node2"].GetProperty("memory").GetProperty("used").GetInt64());
        Assert.All(nodes.Values, n => Assert.Equal(("Ready", "schedulable"), (n.GetProperty("status").GetString(), n.GetProperty("scheduling").GetString())));
    }

    /// <summary>Service is a hello-web service without a published port (so several can share the nodes), with <paramref name="extra"/> YAML and its resources.</summary>
    internal static string Service(string name, string image, int replicas, string extra, string resources = "{ cpu: 50m, memory: 16Mi }") =>
        $"""
        kind: Service
        name: {name}
        image: {image}
        replicas: {replicas}
        resources: {resources}
        health:
          http: {"{"} path: /, port: 8080 {"}"}
          interval: 1s
          timeout: 1s
        {extra}

        """;
}
