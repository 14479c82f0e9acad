using Fleet.Core.Specs;

namespace Fleet.Daemon.Tests;

public sealed class DaemonOptionsTests
{
    private const string ClusterYaml = """
        kind: Cluster
        name: local
        persistence:
          provider: sqlite
        nodes:
          - name: node1
            address: 10.1.0.1
            roles: [control-plane, worker]
            dataDir: /srv/fleet/node1
            network: { bridge: fleet1, subnet: 10.89.1.0/24 }
          - name: node2
            address: 10.1.0.2
            ports: { api: 4150, http: 4151, cluster: 4153 }
            roles: [worker]
            labels: { zone: b }
          - name: node3
            address: 10.1.0.3
            roles: [control-plane]
        """;

    private static DaemonOptions? Resolve(DaemonArguments args, out List<string> errors)
    {
        errors = [];
        return DaemonOptions.Resolve(args, _ => ClusterYaml, errors);
    }

    [Fact]
    public void No_flags_is_a_single_node_on_loopback_with_the_default_ports_and_data_dir()
    {
        var options = Resolve(new DaemonArguments(), out var errors)!;

        Assert.Empty(errors);
        Assert.Equal("local", options.Node.Value);
        Assert.Equal("127.0.0.1", options.Address);
        Assert.Equal((4050, 4051, 4053), (options.Ports.Api, options.Ports.Http, options.Ports.Cluster));
        Assert.Equal("/var/lib/fleet", options.DataDir);
        Assert.Equal([NodeRole.ControlPlane, NodeRole.Worker], options.Roles.Order());
        Assert.Empty(options.SeedNodes);
        Assert.Equal(PersistenceProvider.Sqlite, options.Persistence.Provider);
    }

    [Fact]
    public void Flags_override_every_port_and_the_data_dir()
    {
        var options = Resolve(new DaemonArguments { ApiPort = 1, HttpPort = 2, ClusterPort = 3, DataDir = "/tmp/x" }, out _)!;

        Assert.Equal((1, 2, 3), (options.Ports.Api, options.Ports.Http, options.Ports.Cluster));
        Assert.Equal("/tmp/x", options.DataDir);
    }

    [Fact]
    public void A_cluster_file_gives_this_nodes_entry_and_the_control_plane_seeds()
    {
        var options = Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node2" }, out var errors)!;

        Assert.Empty(errors);
        Assert.Equal("10.1.0.2", options.Address);
        Assert.Equal((4150, 4151, 4153), (options.Ports.Api, options.Ports.Http, options.Ports.Cluster));
        Assert.Equal([NodeRole.Worker], options.Roles);
        Assert.Equal("b", options.Labels["zone"]);
        Assert.Equal(["10.1.0.1:4053", "10.1.0.3:4053"], options.SeedNodes);
    }

    [Fact]
    public void A_flag_beats_the_cluster_file_and_the_node_seeds_itself_at_its_real_port()
    {
        var options = Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node1", ClusterPort = 9999 }, out _)!;

        Assert.Equal(9999, options.Ports.Cluster);
        Assert.Equal("/srv/fleet/node1", options.DataDir);
        Assert.Equal(["10.1.0.1:9999", "10.1.0.3:4053"], options.SeedNodes);
    }

    [Fact]
    public void A_node_not_in_the_file_is_an_error_that_lists_the_nodes()
    {
        Assert.Null(Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node9" }, out var errors));

        Assert.Contains("node `node9` is not in cluster `local` (nodes: node1, node2, node3)", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_cluster_file_without_node_is_an_error()
    {
        Assert.Null(Resolve(new DaemonArguments { ConfigFile = "cluster.yaml" }, out var errors));

        Assert.Contains("--node NAME is required", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Equal_ports_are_an_error()
    {
        Assert.Null(Resolve(new DaemonArguments { ApiPort = 5000, HttpPort = 5000 }, out var errors));

        Assert.Contains("must differ", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_service_file_given_as_config_is_an_error()
    {
        var errors = new List<string>();

        Assert.Null(DaemonOptions.Resolve(new DaemonArguments { ConfigFile = "web.yaml", Node = "n" }, _ => "kind: Service\nname: web\nimage: busybox\n", errors));
        Assert.Contains("no `kind: Cluster` document", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void The_nodes_network_entry_gives_bridge_and_subnet_and_flags_still_win()
    {
        var fromFile = Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node1" }, out var errors)!;
        Assert.Empty(errors);
        Assert.Equal(("fleet1", "10.89.1.0/24"), (fromFile.Bridge, fromFile.Subnet.ToString()));

        var fromFlags = Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node1", Bridge = "ftx", Subnet = "10.90.0.0/24" }, out errors)!;
        Assert.Empty(errors);
        Assert.Equal(("ftx", "10.90.0.0/24"), (fromFlags.Bridge, fromFlags.Subnet.ToString()));

        var withoutEntry = Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node2" }, out errors)!;
        Assert.Equal(("fleet0", "10.88.0.0/16"), (withoutEntry.Bridge, withoutEntry.Subnet.ToString()));
    }

    [Fact]
    public void Cluster_nodes_carry_every_node_with_this_nodes_flags_applied()
    {
        var options = Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node2", ApiPort = 5000, Address = "10.1.0.22" }, out _)!;

        Assert.Equal(["node1", "node2", "node3"], options.ClusterNodes.Select(n => n.Name.Value));
        var self = options.ClusterNodes[1];
        Assert.Equal(("10.1.0.22", 5000), (self.Address, self.Ports.Api));
        Assert.Equal(("10.1.0.1", 4050), (options.ClusterNodes[0].Address, options.ClusterNodes[0].Ports.Api));
        Assert.Empty(Resolve(new DaemonArguments(), out _)!.ClusterNodes);
    }

    [Fact]
    public void The_cluster_files_registry_settings_reach_the_node_and_default_without_a_file()
    {
        var errors = new List<string>();
        var yaml = ClusterYaml + "\nregistry:\n  insecure: [\"registry.lan:5000\"]\n  allowLoopback: false\n";
        var options = DaemonOptions.Resolve(new DaemonArguments { ConfigFile = "cluster.yaml", Node = "node1" }, _ => yaml, errors);
        Assert.True(options is not null, string.Join("\n", errors));
        Assert.Equal(["registry.lan:5000"], options.Registry.Insecure);
        Assert.False(options.Registry.AllowLoopbackInsecure);

        var alone = Resolve(new DaemonArguments(), out _)!;
        Assert.Empty(alone.Registry.Insecure);
        Assert.True(alone.Registry.AllowLoopbackInsecure);
    }
}
