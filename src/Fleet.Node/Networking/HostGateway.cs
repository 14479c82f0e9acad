using System.Net;
using System.Net.Sockets;
using Fleet.Core.State;

namespace Fleet.Node.Networking;

/// <summary>LocalAddress is one IPv4 address of this machine's interfaces with its prefix (what `ip -4 address` shows).</summary>
public sealed record LocalAddress(IPAddress Address, int PrefixLength, bool Loopback)
{
    /// <summary>Network is the directly connected network the address lies in.</summary>
    public Ipv4Subnet Network => Ipv4Subnet.Containing(Address, PrefixLength);
}

/// <summary>HostRoute sends a peer node's replica subnet to that node's address (flannel's host-gw).</summary>
public sealed record HostRoute(string Node, Ipv4Subnet Destination, IPAddress Via, IPAddress? Source);

/// <summary>
/// HostGatewaySkip says why a node gets no route from here. <paramref name="Reachable"/> is
/// false when its replicas cannot be reached from here at all (the mesh should not pick them),
/// true when no route is needed (same machine) or nothing is known against it.
/// </summary>
public sealed record HostGatewaySkip(string Node, string Reason, bool Reachable);

/// <summary>HostGatewayPlan is the routes this node wants to its peers, and the peers left out with the reason.</summary>
public sealed record HostGatewayPlan(IReadOnlyList<HostRoute> Routes, IReadOnlyList<HostGatewaySkip> Skipped)
{
    /// <summary>Empty routes nowhere.</summary>
    public static readonly HostGatewayPlan Empty = new([], []);
}

/// <summary>
/// HostGateway plans host-gateway routes, the way flannel's host-gw backend does: a node's
/// replica subnet is not routed by the network between machines, so every node routes each
/// other node's subnet via that node's address, which must be on a directly connected network
/// (the nodes share one L2 segment). No tunnel, no encapsulation: replica addresses stay as
/// they are and the mesh on any node connects straight to a replica on any other.
/// <para>
/// A node gets no route when it is this node, reports no subnet, has an address of this
/// machine (several nodes on one machine: every bridge is local, the kernel already routes),
/// has a subnet that is already directly connected here or overlaps this node's or an earlier
/// peer's, or has an address not on a connected network (a route would be refused). Pure: the
/// caller reads the machine's addresses and applies the plan (<see cref="HostGatewayRoutes"/>).
/// </para>
/// </summary>
public static class HostGateway
{
    /// <summary>Plan decides the routes of <paramref name="self"/>; nodes are taken in name order so clashes are decided the same way everywhere.</summary>
    public static HostGatewayPlan Plan(string self, Ipv4Subnet? ownSubnet, IEnumerable<NodeStatus> nodes, IReadOnlyList<LocalAddress> local)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(local);
        var routes = new List<HostRoute>();
        var skipped = new List<HostGatewaySkip>();
        var connected = local.Select(l => l.Network).ToList();
        var selfAddress = nodes.FirstOrDefault(n => n.Name.Value == self) is { } me && IPAddress.TryParse(me.Address, out var mine)
                          && local.Any(l => !l.Loopback && l.Address.Equals(mine))
            ? mine
            : null;
        foreach (var node in nodes.OrderBy(n => n.Name.Value, StringComparer.Ordinal))
        {
            var name = node.Name.Value;
            if (name == self)
            {
                continue;
            }
            var reason = Refuse(node, ownSubnet, local, connected, routes, out var subnet, out var address, out var reachable);
            if (reason is not null)
            {
                skipped.Add(new HostGatewaySkip(name, reason, reachable));
                continue;
            }
            routes.Add(new HostRoute(name, subnet, address!, selfAddress));
        }
        return new HostGatewayPlan(routes, skipped);
    }

    private static string? Refuse(NodeStatus node, Ipv4Subnet? ownSubnet, IReadOnlyList<LocalAddress> local, List<Ipv4Subnet> connected,
        List<HostRoute> earlier, out Ipv4Subnet subnet, out IPAddress? address, out bool reachable)
    {
        subnet = default;
        address = null;
        reachable = true;
        if (node.ContainerSubnet is null)
        {
            return "reports no container subnet";
        }
        if (!Ipv4Subnet.TryParse(node.ContainerSubnet, out subnet, out var error))
        {
            return error;
        }
        if (!IPAddress.TryParse(node.Address, out address) || address.AddressFamily != AddressFamily.InterNetwork)
        {
            return $"address `{node.Address}` is not an IPv4 address";
        }
        var via = address;
        if (IPAddress.IsLoopback(via) || local.Any(l => l.Address.Equals(via)))
        {
            return $"{via} is this machine's: its bridge is local, no route needed";
        }
        var s = subnet;
        // From here on a refusal means the node's replica addresses lead nowhere (or to the wrong place) from here.
        reachable = false;
        if (ownSubnet is { } own && own.Overlaps(s))
        {
            return $"subnet {s} overlaps this node's {own}";
        }
        foreach (var direct in connected.Where(c => c.Overlaps(s)))
        {
            // The kernel already routes it out of a local interface (another bridge here, the LAN).
            reachable = true;
            return $"subnet {s} is directly connected here ({direct})";
        }
        if (earlier.FirstOrDefault(r => r.Destination.Overlaps(s)) is { } clash)
        {
            return $"subnet {s} overlaps node {clash.Node}'s {clash.Destination}";
        }
        if (!local.Any(l => !l.Loopback && l.Network.Contains(via)))
        {
            return $"{via} is not on a directly connected network (host-gateway routing needs the nodes on one L2 segment)";
        }
        return null;
    }

    /// <summary>
    /// ParseAddresses reads `ip -4 -o address show`: "2: eth0    inet 192.168.1.5/24 brd ... scope global eth0\ ...".
    /// </summary>
    public static IReadOnlyList<LocalAddress> ParseAddresses(string listing)
    {
        ArgumentNullException.ThrowIfNull(listing);
        var addresses = new List<LocalAddress>();
        foreach (var line in listing.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            var inet = Array.IndexOf(words, "inet");
            if (inet < 0 || inet + 1 >= words.Length)
            {
                continue;
            }
            var cidr = words[inet + 1].Split('/');
            if (!IPAddress.TryParse(cidr[0], out var address) || address.AddressFamily != AddressFamily.InterNetwork)
            {
                continue;
            }
            var prefix = cidr.Length > 1 && int.TryParse(cidr[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : 32;
            var device = words.Length > 1 ? words[1].TrimEnd(':') : "";
            addresses.Add(new LocalAddress(address, prefix, device == "lo" || IPAddress.IsLoopback(address)));
        }
        return addresses;
    }
}
