using System.Net;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Networking;

namespace Fleet.Node.Tests.Networking;

/// <summary>The host-gateway planner: which peer subnets get a route via which node, and why the others do not.</summary>
public sealed class HostGatewayTests
{
    private static NodeStatus Node(string name, string address, string? subnet) =>
        new(NodeName.Parse(name), address, new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "1.0.0", DateTimeOffset.UnixEpoch)
        {
            ContainerSubnet = subnet,
        };

    private static readonly IReadOnlyList<LocalAddress> MachineA = HostGateway.ParseAddresses("""
        1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
        2: eth0    inet 192.168.10.1/24 brd 192.168.10.255 scope global eth0\       valid_lft forever preferred_lft forever
        5: fleet0    inet 10.91.1.1/24 brd 10.91.1.255 scope global fleet0\       valid_lft forever preferred_lft forever
        """);

    private static readonly Ipv4Subnet OwnSubnet = Ipv4Subnet.Parse("10.91.1.0/24");

    [Fact]
    public void Addresses_are_read_from_ip_output()
    {
        Assert.Equal(3, MachineA.Count);
        Assert.True(MachineA[0].Loopback);
        Assert.Equal(Ipv4Subnet.Containing(IPAddress.Parse("192.168.10.1"), 24), MachineA[1].Network);
        Assert.Equal("192.168.10.0/24", MachineA[1].Network.ToString());
        Assert.False(MachineA[2].Loopback);
    }

    [Fact]
    public void Every_other_node_on_the_segment_gets_its_subnet_routed_via_its_address_from_ours()
    {
        var plan = HostGateway.Plan("a", OwnSubnet,
        [
            Node("c", "192.168.10.3", "10.91.3.0/24"),
            Node("a", "192.168.10.1", "10.91.1.0/24"),
            Node("b", "192.168.10.2", "10.91.2.0/24"),
        ], MachineA);

        Assert.Empty(plan.Skipped);
        Assert.Equal(
        [
            new HostRoute("b", Ipv4Subnet.Parse("10.91.2.0/24"), IPAddress.Parse("192.168.10.2"), IPAddress.Parse("192.168.10.1")),
            new HostRoute("c", Ipv4Subnet.Parse("10.91.3.0/24"), IPAddress.Parse("192.168.10.3"), IPAddress.Parse("192.168.10.1")),
        ], plan.Routes);
    }

    [Fact]
    public void Nodes_on_this_machine_need_no_route_and_stay_reachable()
    {
        var local = HostGateway.ParseAddresses("""
            1: lo    inet 127.0.0.1/8 scope host lo\       valid_lft forever preferred_lft forever
            5: fleet1    inet 10.91.1.1/24 scope global fleet1\ x
            6: fleet2    inet 10.91.2.1/24 scope global fleet2\ x
            """);
        var plan = HostGateway.Plan("node1", OwnSubnet,
        [
            Node("node1", "127.0.0.1", "10.91.1.0/24"),
            Node("node2", "127.0.0.2", "10.91.2.0/24"),
            Node("node3", "127.0.0.3", "10.91.3.0/24"),
        ], local);

        Assert.Empty(plan.Routes);
        Assert.Equal(["node2", "node3"], plan.Skipped.Select(s => s.Node));
        Assert.All(plan.Skipped, s => Assert.True(s.Reachable, s.Reason));
        Assert.All(plan.Skipped, s => Assert.Contains("this machine's", s.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Unroutable_peers_are_skipped_with_the_reason_and_marked_unreachable()
    {
        var plan = HostGateway.Plan("a", OwnSubnet,
        [
            Node("a", "192.168.10.1", "10.91.1.0/24"),
            Node("b", "192.168.10.2", "10.91.0.0/16"),     // overlaps ours
            Node("c", "172.16.0.9", "10.92.0.0/24"),       // not on our segment
            Node("d", "192.168.10.4", "10.93.0.0/24"),
            Node("e", "192.168.10.5", "10.93.0.128/25"),   // overlaps d's
            Node("f", "192.168.10.6", "192.168.10.0/24"),  // already connected (reachable without a route)
            Node("g", "192.168.10.7", null),               // no bridge network
            Node("h", "node-h.example", "10.94.0.0/24"),   // not an address
        ], MachineA);

        Assert.Equal(["d"], plan.Routes.Select(r => r.Node));
        var skipped = plan.Skipped.ToDictionary(s => s.Node);
        Assert.Equal(["b", "c", "e", "f", "g", "h"], skipped.Keys.Order());
        Assert.Contains("overlaps this node's", skipped["b"].Reason, StringComparison.Ordinal);
        Assert.Contains("not on a directly connected network", skipped["c"].Reason, StringComparison.Ordinal);
        Assert.Contains("overlaps node d's", skipped["e"].Reason, StringComparison.Ordinal);
        Assert.Contains("directly connected here", skipped["f"].Reason, StringComparison.Ordinal);
        Assert.Contains("no container subnet", skipped["g"].Reason, StringComparison.Ordinal);
        Assert.Contains("not an IPv4 address", skipped["h"].Reason, StringComparison.Ordinal);
        Assert.False(skipped["b"].Reachable);
        Assert.False(skipped["c"].Reachable);
        Assert.False(skipped["e"].Reachable);
        Assert.True(skipped["f"].Reachable);
        Assert.True(skipped["g"].Reachable);
    }

    [Fact]
    public void Our_own_address_is_the_source_only_when_it_is_on_this_machine()
    {
        var plan = HostGateway.Plan("a", OwnSubnet,
        [
            Node("a", "0.0.0.0", "10.91.1.0/24"),
            Node("b", "192.168.10.2", "10.91.2.0/24"),
        ], MachineA);

        Assert.Null(Assert.Single(plan.Routes).Source);
    }

    [Fact]
    public void Subnets_overlap_when_one_contains_the_other()
    {
        Assert.True(Ipv4Subnet.Parse("10.0.0.0/8").Overlaps(Ipv4Subnet.Parse("10.91.2.0/24")));
        Assert.True(Ipv4Subnet.Parse("10.91.2.0/24").Overlaps(Ipv4Subnet.Parse("10.0.0.0/8")));
        Assert.False(Ipv4Subnet.Parse("10.91.2.0/24").Overlaps(Ipv4Subnet.Parse("10.91.3.0/24")));
    }
}
