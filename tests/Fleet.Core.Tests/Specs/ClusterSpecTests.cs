using Fleet.Core.Ids;
using Fleet.Core.Specs;
using static Fleet.Core.Tests.Specs.SpecAssert;

namespace Fleet.Core.Tests.Specs;

public sealed class ClusterSpecTests
{
    private static ClusterSpec LoadCluster(string yaml)
    {
        var set = SpecLoader.Load(FileName, yaml);
        Assert.True(set.IsValid, string.Join(Environment.NewLine, set.Diagnostics));
        return Assert.Single(set.Clusters);
    }

    [Fact]
    public void Shipped_cluster_yaml_describes_three_nodes_on_loopback_with_distinct_ports()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "cluster.yaml");
        var set = SpecLoader.Load("cluster.yaml", File.ReadAllText(path));

        Assert.Empty(set.Diagnostics);
        var cluster = Assert.Single(set.Clusters);
        Assert.Equal(3, cluster.Nodes.Count);
        Assert.Equal(["127.0.0.1", "127.0.0.2", "127.0.0.3"], cluster.Nodes.Select(n => n.Address));
        Assert.Equal(["fleet1", "fleet2", "fleet3"], cluster.Nodes.Select(n => n.Network!.Bridge));
        Assert.Equal(3, cluster.Nodes.Select(n => n.Network!.Subnet).Distinct().Count());
        Assert.All(cluster.Nodes, n => Assert.Contains(NodeRole.ControlPlane, n.Roles));
        var ports = cluster.Nodes.SelectMany(n => new[] { n.Ports.Api, n.Ports.Http, n.Ports.Cluster }).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.Equal(3, cluster.Nodes.Select(n => n.DataDir).Distinct().Count());
        Assert.Equal(PersistenceProvider.Sqlite, cluster.Persistence.Provider);
        Assert.Equal(["registry.local:5000"], cluster.Registry.Insecure);
        Assert.True(cluster.Registry.AllowLoopbackInsecure);
        Assert.Equal("a", cluster.FindNode(NodeName.Parse("node1"))!.Labels["zone"]);
    }

    [Fact]
    public void Minimal_cluster_gets_defaults()
    {
        var cluster = LoadCluster("kind: Cluster\nname: solo\nnodes:\n  - { name: node1, address: 10.0.0.5 }\n");

        var node = Assert.Single(cluster.Nodes);
        Assert.Equal(new NodePorts { Api = 4050, Http = 4051, Cluster = 4053 }, node.Ports);
        Assert.Equal(new HashSet<NodeRole> { NodeRole.ControlPlane, NodeRole.Worker }, node.Roles);
        Assert.Equal("/var/lib/fleet", node.DataDir);
        Assert.Empty(node.Labels);
        Assert.Equal(PersistenceProvider.Sqlite, cluster.Persistence.Provider);
        Assert.Null(cluster.Persistence.ConnectionString);
        Assert.Empty(cluster.Registry.Insecure);
        Assert.True(cluster.Registry.AllowLoopbackInsecure);
    }

    [Fact]
    public void Postgres_persistence_keeps_its_connection_string()
    {
        var cluster = LoadCluster("kind: Cluster\nname: ha\npersistence: { provider: postgres, connectionString: \"Host=db;Database=fleet\" }\nnodes:\n  - { name: a, address: db.local }\n");
        Assert.Equal(PersistenceProvider.Postgres, cluster.Persistence.Provider);
        Assert.Equal("Host=db;Database=fleet", cluster.Persistence.ConnectionString);
    }

    [Fact]
    public void Nodes_on_separate_machines_may_share_ports_and_data_dir()
    {
        var cluster = LoadCluster("kind: Cluster\nname: c\nnodes:\n  - { name: a, address: 10.0.0.1 }\n  - { name: b, address: 10.0.0.2, roles: [worker] }\n  - { name: c, address: 10.0.0.3, roles: [worker] }\n");
        Assert.Equal(3, cluster.Nodes.Count);
        Assert.Equal([NodeRole.Worker], cluster.Nodes[1].Roles);
    }

    private const string ClusterHead = "kind: Cluster\nname: c\n";

    [Theory]
    [InlineData("nodes: []\n", 3, 8, "nodes: the cluster needs at least one node")]
    [InlineData("", 1, 1, "missing required key `nodes`")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, roles: [worker] }\n", 4, 3, "at least one node needs the role `control-plane`")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, roles: [controlplane] }\n", 4, 44, "unknown value `controlplane`; expected one of `control-plane`, `worker`; did you mean `control-plane`?")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, roles: [worker, worker, control-plane] }\n", 4, 52, "role `worker` is listed twice")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, roles: [] }\n", 4, 43, "give at least one role")]
    [InlineData("nodes:\n  - { name: a, address: 10.0.0.1 }\n  - { name: a, address: 10.0.0.2 }\n", 5, 13, "nodes[1].name: node `a` is already declared at line 4")]
    [InlineData("nodes:\n  - { name: Node_1, address: 10.0.0.1 }\n", 4, 13, "nodes[0].name: invalid node name `Node_1`")]
    [InlineData("nodes:\n  - { name: a }\n", 4, 5, "missing required key `address` in `nodes[0]`")]
    [InlineData("nodes:\n  - { name: a, address: \"not an address\" }\n", 4, 25, "nodes[0].address: `not an address` is not an IP address or a host name")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, ports: { api: 0 } }\n", 4, 50, "nodes[0].ports.api: must be 1 or more, got 0")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, ports: { api: 5000, http: 5000 } }\n", 4, 43, "api, http and cluster must be three different ports")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, ports: { grpc: 5000 } }\n", 4, 45, "unknown key `grpc` in `nodes[0].ports`")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, dataDir: /d/a }\n  - { name: b, address: 127.0.0.1, dataDir: /d/b }\n", 5, 25, "nodes[1]: ports api 4050, http 4051, cluster 4053 on 127.0.0.1 already used by the node at line 4")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, dataDir: /d }\n  - { name: b, address: 127.0.0.1, dataDir: /d, ports: { api: 1, http: 2, cluster: 3 } }\n", 5, 45, "`/d` is already the data dir of the node at line 4 on the same machine")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, dataDir: relative }\n", 4, 45, "nodes[0].dataDir: `relative` must be an absolute path")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, labels: { \"bad key!\": x } }\n", 4, 46, "invalid label `bad key!`")]
    [InlineData("persistence: { provider: postgres }\nnodes:\n  - { name: a, address: 127.0.0.1 }\n", 3, 14, "provider `postgres` needs a `connectionString`")]
    [InlineData("persistence: { provider: mysql }\nnodes:\n  - { name: a, address: 127.0.0.1 }\n", 3, 26, "persistence.provider: unknown value `mysql`")]
    [InlineData("persistence: { connectionString: x }\nnodes:\n  - { name: a, address: 127.0.0.1 }\n", 3, 16, "is only used with provider `postgres`")]
    [InlineData("registry: { insecure: [\"http://r:5000\"] }\nnodes:\n  - { name: a, address: 127.0.0.1 }\n", 3, 24, "registry.insecure[0]: `http://r:5000` is not a registry host[:port]")]
    [InlineData("registry: { allowLoopback: yes }\nnodes:\n  - { name: a, address: 127.0.0.1 }\n", 3, 28, "registry.allowLoopback: expected true or false")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, network: { bridge: averyveryverylongbridge } }\n", 4, 55, "nodes[0].network.bridge: `averyveryverylongbridge` is not a Linux interface name")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, network: { bridge: \"br 1\" } }\n", 4, 55, "is not a Linux interface name")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, network: { subnet: 10.1.2.3/24 } }\n", 4, 55, "nodes[0].network.subnet: subnet `10.1.2.3/24` has host bits set; the network is 10.1.2.0/24")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, network: { subnet: fd00::/64 } }\n", 4, 55, "is not an IPv4 subnet in CIDR form")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, network: { mtu: 1500 } }\n", 4, 47, "unknown key `mtu` in `nodes[0].network`")]
    [InlineData("nodes:\n  - { name: a, address: 10.0.0.1, network: { subnet: 10.88.0.0/16 } }\n  - { name: b, address: 10.0.0.2, network: { subnet: 10.88.4.0/24 } }\n", 5, 54, "nodes[1].network.subnet: 10.88.4.0/24 overlaps 10.88.0.0/16 of the node at line 4; every node needs a subnet of its own")]
    [InlineData("nodes:\n  - { name: a, address: 127.0.0.1, dataDir: /d/a, network: { bridge: fl1 } }\n  - { name: b, address: 127.0.0.2, dataDir: /d/b, ports: { api: 1, http: 2, cluster: 3 }, network: { bridge: fl1 } }\n", 5, 110, "nodes[1].network.bridge: `fl1` is already the bridge of the node at line 4 on the same machine")]
    [InlineData("nods: []\nnodes:\n  - { name: a, address: 127.0.0.1 }\n", 3, 1, "unknown key `nods`; did you mean `nodes`?")]
    public void Cluster_mistake_is_reported_at_its_place(string tail, int line, int column, string message)
    {
        SingleError(ClusterHead + tail, line, column, message);
    }

    [Fact]
    public void Node_network_gives_bridge_and_subnet_and_separate_machines_may_share_a_bridge_name()
    {
        var cluster = LoadCluster(ClusterHead + "nodes:\n  - { name: a, address: 10.0.0.1, network: { bridge: fleet1, subnet: 10.89.1.0/24 } }\n  - { name: b, address: 10.0.0.2, roles: [worker], network: { bridge: fleet1, subnet: 10.89.2.0/24 } }\n  - { name: c, address: 10.0.0.3, roles: [worker] }\n");

        Assert.Equal(new NodeNetworkSpec { Bridge = "fleet1", Subnet = "10.89.1.0/24" }, cluster.Nodes[0].Network);
        Assert.Equal("10.89.2.0/24", cluster.Nodes[1].Network!.Subnet);
        Assert.Null(cluster.Nodes[2].Network);
    }

    [Fact]
    public void Even_number_of_control_plane_nodes_is_a_warning_not_an_error()
    {
        var yaml = ClusterHead + "nodes:\n  - { name: a, address: 10.0.0.1 }\n  - { name: b, address: 10.0.0.2 }\n";
        var warning = Assert.Single(Warnings(yaml));
        Assert.Contains("2 control-plane nodes cannot keep a majority", warning.Message, StringComparison.Ordinal);
        Assert.Equal("svc.yaml:4:3: warning: " + warning.Message, warning.ToString());
        Assert.True(SpecLoader.Load(FileName, yaml).IsValid);
    }

    [Fact]
    public void Second_cluster_document_is_refused()
    {
        var doc = ClusterHead + "nodes:\n  - { name: a, address: 10.0.0.1 }\n";
        var error = Assert.Single(Errors(doc + "---\n" + doc));
        Assert.Equal("6:1: a second `kind: Cluster` document; the first is at svc.yaml:1:1", error);
    }
}
