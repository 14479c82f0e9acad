using System.Globalization;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// TestLan gives every node of a test cluster a machine of its own, as far as the network goes:
/// a network namespace per node, joined to one host bridge (the "switch") by a veth pair, with
/// an address from a private /24 picked per run. fleetd runs inside its node's namespace
/// (<c>nsenter --net</c>: only the network namespace changes; mounts, cgroups and /sys stay the
/// machine's, which the container runtime needs), so its replicas' bridge, routes and iptables
/// rules are its own, as on a real machine. <see cref="Down"/> takes a node's link down — the
/// cable pulled — and <see cref="Up"/> puts it back. The test host reaches every node through
/// the bridge's own address. Dispose deletes the namespaces (and with them whatever fleetd left
/// inside) and the bridge.
/// </summary>
internal sealed class TestLan : IDisposable
{
    private readonly string _prefix = "fl" + Guid.NewGuid().ToString("N")[..6];
    private readonly List<string> _namespaces = [];
    private readonly int _third;

    /// <summary>TestLan creates the bridge and one namespace per node, numbered 1..<paramref name="nodes"/>.</summary>
    public TestLan(int nodes)
    {
        _third = FreeThirdOctet();
        Bridge = _prefix + "lan";
        try
        {
            Ip("link", "add", Bridge, "type", "bridge");
            Ip("addr", "add", $"172.30.{Num(_third)}.1/24", "dev", Bridge);
            Ip("link", "set", Bridge, "up");
            for (var n = 1; n <= nodes; n++)
            {
                var ns = Namespace(n);
                Ip("netns", "add", ns);
                _namespaces.Add(ns);
                Ip("link", "add", HostSide(n), "type", "veth", "peer", "name", NodeSide(n));
                Ip("link", "set", NodeSide(n), "netns", ns);
                Ip("link", "set", HostSide(n), "master", Bridge, "up");
                Ip("-n", ns, "addr", "add", $"{Address(n)}/24", "dev", NodeSide(n));
                Ip("-n", ns, "link", "set", NodeSide(n), "up");
                Ip("-n", ns, "link", "set", "lo", "up");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Bridge is the host bridge every node's link is plugged into.</summary>
    public string Bridge { get; }

    /// <summary>Address of node <paramref name="n"/> (1-based) on the LAN.</summary>
    public string Address(int n) => $"172.30.{Num(_third)}.{Num(10 + n)}";

    /// <summary>Namespace of node <paramref name="n"/> (a name under /run/netns).</summary>
    public string Namespace(int n) => $"{_prefix}n{Num(n)}";

    /// <summary>Down pulls node <paramref name="n"/>'s cable: its host-side link goes down, nothing reaches it or leaves it.</summary>
    public void Down(int n) => Ip("link", "set", HostSide(n), "down");

    /// <summary>Up plugs node <paramref name="n"/>'s cable back in.</summary>
    public void Up(int n) => Ip("link", "set", HostSide(n), "up");

    public void Dispose()
    {
        var problems = new List<string>();
        foreach (var ns in _namespaces)
        {
            var (code, output) = FleetNode.Run("ip", "netns", "del", ns);
            if (code != 0)
            {
                problems.Add($"ip netns del {ns}: {output.Trim()}");
            }
        }
        _namespaces.Clear();
        if (FleetNode.Run("ip", "link", "show", Bridge).Code == 0)
        {
            var (code, output) = FleetNode.Run("ip", "link", "del", Bridge);
            if (code != 0)
            {
                problems.Add($"ip link del {Bridge}: {output.Trim()}");
            }
        }
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("test LAN cleanup: " + string.Join("; ", problems));
        }
    }

    private string HostSide(int n) => $"{_prefix}h{Num(n)}";

    private string NodeSide(int n) => $"{_prefix}p{Num(n)}";

    private static void Ip(params string[] args)
    {
        var (code, output) = FleetNode.Run("ip", args);
        if (code != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {output.Trim()}");
        }
    }

    /// <summary>FreeThirdOctet picks 172.30.X.0/24 that no route of this machine uses yet.</summary>
    private static int FreeThirdOctet()
    {
        var routes = FleetNode.Run("ip", "-4", "route", "show").Output;
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var third = Random.Shared.Next(256);
            if (!routes.Contains($"172.30.{Num(third)}.", StringComparison.Ordinal))
            {
                return third;
            }
        }
        throw new InvalidOperationException("no free 172.30.X.0/24 for the test LAN");
    }

    private static string Num(int n) => n.ToString(CultureInfo.InvariantCulture);
}
