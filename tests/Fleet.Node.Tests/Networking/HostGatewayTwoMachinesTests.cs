using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Mesh;
using Fleet.Node.Networking;

namespace Fleet.Node.Tests.Networking;

/// <summary>
/// Two "machines" joined by one link, as host-gateway routing expects: machine A is the host's
/// network namespace (where this test's mesh runs), machine B a network namespace of its own with
/// a container bridge, a FORWARD policy of DROP (as on Docker's hosts) and a replica — an httpd
/// in a third namespace on B's bridge. Nothing routes B's replica subnet until the nodes'
/// <see cref="HostGatewayRoutes"/> run; then A's mesh reaches the replica.
/// <code>
/// host (A) ── {p}a 10.x.y.1/30 ═══ {p}b 10.x.y.2/30 ── netns {p}B ── bridge {p}br S_B.1/24 ── netns {p}C: httpd S_B.2:8080
/// </code>
/// </summary>
[Collection(HostNetworkCollection.Name)]
public sealed class HostGatewayTwoMachinesTests
{
    private const string Busybox = "/bin/busybox";

    [Fact]
    public async Task The_mesh_on_one_machine_reaches_a_replica_behind_another_through_the_host_gateway_route()
    {
        Assert.True(Environment.IsPrivilegedProcess, "the host-gateway test needs root (netns, routes, iptables)");
        Assert.True(File.Exists(Busybox), $"{Busybox} is missing: apt-get install -y busybox-static");
        var p = "ft" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 5);
        var (x, y) = (RandomNumberGenerator.GetInt32(100, 250), RandomNumberGenerator.GetInt32(0, 64) * 4);
        var linkA = IPAddress.Parse($"10.{x}.{y}.1");
        var linkB = IPAddress.Parse($"10.{x}.{y}.2");
        var subnetA = Ipv4Subnet.Parse($"10.{x}.{RandomNumberGenerator.GetInt32(64, 128)}.0/24");
        var subnetB = Ipv4Subnet.Parse($"10.{x}.{RandomNumberGenerator.GetInt32(128, 192)}.0/24");
        var replicaAddress = Ipv4Subnet.ToAddress(subnetB.NetworkValue + 2);
        var (netnsB, netnsC, bridgeA, bridgeB) = (p + "B", p + "C", p + "A", p + "br");
        var dataA = Directory.CreateTempSubdirectory("fleet-hostgw-a-").FullName;
        var dataB = Directory.CreateTempSubdirectory("fleet-hostgw-b-").FullName;
        var site = Directory.CreateTempSubdirectory("fleet-hostgw-www-").FullName;
        await File.WriteAllTextAsync(Path.Combine(site, "index.html"), "replica-on-b\n");
        Process? httpd = null;
        var routesA = new HostGatewayRoutes(new NodePaths(dataA), "a", bridgeA, subnetA, null, null);
        var routesB = new HostGatewayRoutes(new NodePaths(dataB), "b", bridgeB, subnetB, netnsB, null);
        try
        {
            // Machine B: its namespace, the link to A, a bridge, forwarding on, FORWARD dropping by default.
            TestBridge.Run("ip", "netns", "add", netnsB);
            TestBridge.Run("ip", "link", "add", p + "a", "type", "veth", "peer", "name", p + "b");
            TestBridge.Run("ip", "link", "set", p + "b", "netns", netnsB);
            TestBridge.Run("ip", "address", "add", $"{linkA}/30", "dev", p + "a");
            TestBridge.Run("ip", "link", "set", p + "a", "up");
            InB("ip", "link", "set", "lo", "up");
            InB("ip", "address", "add", $"{linkB}/30", "dev", p + "b");
            InB("ip", "link", "set", p + "b", "up");
            InB("ip", "link", "add", "name", bridgeB, "type", "bridge");
            InB("ip", "address", "add", $"{subnetB.Gateway}/{subnetB.PrefixLength}", "dev", bridgeB);
            InB("ip", "link", "set", bridgeB, "up");
            InB("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            InB("iptables", "-w", "-P", "FORWARD", "DROP");
            NatRules.EnsureTagged(NatRules.Tag(bridgeB), NatRules.For(bridgeB, subnetB, egressNat: false), netnsB);

            // B's replica: a namespace on B's bridge serving one page.
            TestBridge.Run("ip", "netns", "add", netnsC);
            InB("ip", "link", "add", p + "c", "type", "veth", "peer", "name", p + "r");
            InB("ip", "link", "set", p + "r", "netns", netnsC);
            InB("ip", "link", "set", p + "c", "master", bridgeB);
            InB("ip", "link", "set", p + "c", "up");
            In(netnsC, "ip", "link", "set", "lo", "up");
            In(netnsC, "ip", "address", "add", $"{replicaAddress}/{subnetB.PrefixLength}", "dev", p + "r");
            In(netnsC, "ip", "link", "set", p + "r", "up");
            In(netnsC, "ip", "route", "add", "default", "via", subnetB.Gateway.ToString());
            httpd = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", netnsC, Busybox, "httpd", "-f", "-p", "8080", "-h", site]))!;

            IReadOnlyList<NodeStatus> nodes = [Node("a", linkA, subnetA), Node("b", linkB, subnetB)];

            // A routes B's subnet via B; B does not let new connections onto its bridge yet.
            Assert.True(routesA.Update(nodes));
            Assert.False(routesA.Update(nodes));
            var routeA = TestBridge.Run("ip", "route", "show", subnetB.ToString());
            Assert.Contains($"via {linkB} dev {p}a", routeA, StringComparison.Ordinal);
            Assert.Contains($"src {linkA}", routeA, StringComparison.Ordinal);
            Assert.Equal([new HostRoute("b", subnetB, linkB, linkA)], routesA.Installed);
            Assert.False(await CanConnect(new IPEndPoint(replicaAddress, 8080), TimeSpan.FromSeconds(2)),
                "B's FORWARD policy should drop a new connection from A before B has A's peer rules");

            // B routes A's subnet via A and lets A (and A's replicas) onto its bridge.
            Assert.True(routesB.Update(nodes));
            Assert.Contains($"via {linkA} dev {p}b", InB("ip", "route", "show", subnetA.ToString()), StringComparison.Ordinal);
            var peerRules = NatRules.Tagged("filter", "FORWARD", NatRules.PeerTag(bridgeB), netnsB);
            Assert.Equal(2, peerRules.Count);
            Assert.Single(NatRules.Tagged("nat", "POSTROUTING", NatRules.PeerTag(bridgeB), netnsB));

            // A's mesh serves a published port whose only replica is behind B.
            var port = TestPorts.Free();
            await using (var mesh = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Loopback], HoldTime = TimeSpan.FromSeconds(5) }))
            {
                mesh.Update([new MeshRoute(port, PortProtocol.Tcp, ServiceName.Parse("web"), [new IPEndPoint(replicaAddress, 8080)])]);
                var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
                string page;
                while (true)
                {
                    page = await Get(new IPEndPoint(IPAddress.Loopback, port));
                    if (page.Contains("replica-on-b", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
                    {
                        break;
                    }
                    await Task.Delay(200);
                }
                Assert.Contains("replica-on-b", page, StringComparison.Ordinal);
                Assert.Contains("200 OK", page, StringComparison.Ordinal);
            }

            // B leaves while A's fleetd is down: the restarted one (a new keeper over the same
            // data dir) finds the route it made in its record and drops it.
            routesA = new HostGatewayRoutes(new NodePaths(dataA), "a", bridgeA, subnetA, null, null);
            Assert.Equal([new HostRoute("b", subnetB, linkB, linkA)], routesA.Installed);
            Assert.True(routesA.Update([nodes[0]]));
            Assert.Equal("", TestBridge.Run("ip", "route", "show", subnetB.ToString()).Trim());
            Assert.Empty(routesA.Installed);
            Assert.False(File.Exists(routesA.RecordFile));
            routesB.TearDown();
            Assert.Equal("", InB("ip", "route", "show", subnetA.ToString()).Trim());
            Assert.Empty(NatRules.Tagged("filter", "FORWARD", NatRules.PeerTag(bridgeB), netnsB));
        }
        finally
        {
            if (httpd is not null)
            {
                try
                {
                    httpd.Kill();
                    httpd.WaitForExit(5000);
                }
                catch (InvalidOperationException)
                {
                }
                httpd.Dispose();
            }
            routesA.TearDown();
            HostCommandQuiet("ip", "netns", "delete", netnsC);
            HostCommandQuiet("ip", "netns", "delete", netnsB);
            HostCommandQuiet("ip", "link", "delete", p + "a");
            foreach (var dir in new[] { dataA, dataB, site })
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        Assert.False(Directory.Exists($"/sys/class/net/{p}a"));
        Assert.DoesNotContain(netnsB, TestBridge.Run("ip", "netns", "list"), StringComparison.Ordinal);
        Assert.Empty(NatRules.Tagged("filter", "FORWARD", NatRules.PeerTag(bridgeA)));

        string InB(params string[] arguments) => In(netnsB, arguments);
    }

    private static string In(string netns, params string[] arguments) => TestBridge.Run("ip", ["netns", "exec", netns, .. arguments]);

    private static void HostCommandQuiet(string tool, params string[] arguments) => HostCommand.Run(tool, arguments);

    private static NodeStatus Node(string name, IPAddress address, Ipv4Subnet subnet) =>
        new(NodeName.Parse(name), address.ToString(), new HashSet<NodeRole> { NodeRole.Worker }, new Dictionary<string, string>(), "1.0.0", DateTimeOffset.UtcNow)
        {
            ContainerSubnet = subnet.ToString(),
        };

    private static async Task<bool> CanConnect(IPEndPoint endpoint, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(endpoint, cancel.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task<string> Get(IPEndPoint endpoint)
    {
        try
        {
            using var client = new TcpClient();
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.ConnectAsync(endpoint, cancel.Token);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /index.html HTTP/1.0\r\nHost: replica\r\n\r\n"), cancel.Token);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            return await reader.ReadToEndAsync(cancel.Token);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
        {
            return e.Message;
        }
    }
}
