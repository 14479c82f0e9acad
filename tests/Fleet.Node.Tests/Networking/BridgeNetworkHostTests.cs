using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Node.Mesh;

namespace Fleet.Node.Tests.Networking;

/// <summary>
/// BridgeNetwork against the real host: the bridge, its gateway address, the iptables rules,
/// idempotence, tear-down, and traffic to and from a network namespace on the bridge.
/// </summary>
[Collection(HostNetworkCollection.Name)]
public sealed class BridgeNetworkHostTests
{
    [Fact]
    public async Task Prepare_twice_makes_the_bridge_gateway_and_rules_once_and_TearDown_removes_exactly_them()
    {
        using var bridge = new TestBridge();
        var network = bridge.Open();

        await network.PrepareAsync(CancellationToken.None);
        await network.PrepareAsync(CancellationToken.None);

        Assert.True(Directory.Exists($"/sys/class/net/{bridge.Name}/bridge"));
        var flags = Convert.ToInt32(File.ReadAllText($"/sys/class/net/{bridge.Name}/flags").Trim(), 16);
        Assert.True((flags & 1) == 1, $"bridge {bridge.Name} is not up (flags {flags:x})");
        var addresses = TestBridge.Run("ip", "-4", "-o", "address", "show", "dev", bridge.Name);
        Assert.Contains($"inet {bridge.Subnet.Gateway}/24", addresses, StringComparison.Ordinal);
        Assert.Equal("1", File.ReadAllText("/proc/sys/net/ipv4/ip_forward").Trim());

        var nat = bridge.RulesMentioning("nat");
        var filter = bridge.RulesMentioning("filter");
        Assert.Single(nat);
        Assert.Contains($"-A POSTROUTING -s {bridge.Subnet} ! -o {bridge.Name}", nat[0], StringComparison.Ordinal);
        Assert.Contains("-j MASQUERADE", nat[0], StringComparison.Ordinal);
        Assert.Equal(2, filter.Count);
        Assert.All(filter, rule => Assert.StartsWith("-A FORWARD", rule, StringComparison.Ordinal));
        Assert.Contains(filter, rule => rule.Contains($"-i {bridge.Name}", StringComparison.Ordinal));
        Assert.Contains(filter, rule => rule.Contains($"-o {bridge.Name}", StringComparison.Ordinal) && rule.Contains("RELATED,ESTABLISHED", StringComparison.Ordinal));

        // A rule of someone else (same chain, no tag) must survive the tear-down.
        var foreign = new[] { "-w", "-A", "FORWARD", "-i", bridge.Name + "x", "-j", "ACCEPT" };
        TestBridge.Run("iptables", foreign);
        try
        {
            network.TearDown();

            Assert.False(Directory.Exists($"/sys/class/net/{bridge.Name}"));
            Assert.Empty(bridge.RulesMentioning("nat"));
            Assert.Equal([$"-A FORWARD -i {bridge.Name}x -j ACCEPT"], bridge.RulesMentioning("filter"));
        }
        finally
        {
            TestBridge.Run("iptables", ["-w", "-D", .. foreign[2..]]);
        }
    }

    [Fact]
    public async Task Prepare_with_a_new_subnet_replaces_the_old_gateway_and_NAT_rule()
    {
        using var bridge = new TestBridge();
        await bridge.Open().PrepareAsync(CancellationToken.None);
        var moved = Fleet.Node.Networking.Ipv4Subnet.Parse($"10.{bridge.Subnet.Network.GetAddressBytes()[1]}.{(bridge.Subnet.Network.GetAddressBytes()[2] + 1) % 256}.0/24");
        var network = new Fleet.Node.Networking.BridgeNetwork(bridge.Paths, bridge.Options with { Subnet = moved });

        await network.PrepareAsync(CancellationToken.None);

        var addresses = TestBridge.Run("ip", "-4", "-o", "address", "show", "dev", bridge.Name);
        Assert.Contains($"inet {moved.Gateway}/24", addresses, StringComparison.Ordinal);
        Assert.DoesNotContain($"inet {bridge.Subnet.Gateway}/", addresses, StringComparison.Ordinal);
        var nat = Assert.Single(bridge.RulesMentioning("nat"));
        Assert.Contains($"-s {moved} ", nat, StringComparison.Ordinal);
        Assert.Equal(2, bridge.RulesMentioning("filter").Count);
    }

    [Fact]
    public async Task Host_reaches_a_listener_in_a_namespace_on_the_bridge_directly_and_through_the_mesh_and_the_namespace_reaches_the_gateway()
    {
        using var bridge = new TestBridge();
        var network = bridge.Open();
        await network.PrepareAsync(CancellationToken.None);
        var attachment = network.Attach(ReplicaId.Parse("web-bcdfg"));
        var address = attachment.Address!;

        var ns = bridge.Name + "-ns";
        var hostVeth = bridge.Name + "h";
        var www = Directory.CreateTempSubdirectory("fleet-net-www-").FullName;
        Process? httpd = null;
        TestBridge.Run("ip", "netns", "add", ns);
        try
        {
            // What the runtime does for a container (net.c), done here by hand with `ip`.
            TestBridge.Run("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns);
            TestBridge.Run("ip", "link", "set", hostVeth, "master", attachment.Bridge!, "up");
            TestBridge.Run("ip", "-n", ns, "address", "add", attachment.Cidr!, "dev", "eth0");
            TestBridge.Run("ip", "-n", ns, "link", "set", "lo", "up");
            TestBridge.Run("ip", "-n", ns, "link", "set", "eth0", "up");
            TestBridge.Run("ip", "-n", ns, "route", "add", "default", "via", attachment.Gateway!.ToString());

            // host → namespace: busybox httpd inside answers on the allocated address.
            await File.WriteAllTextAsync(Path.Combine(www, "index.html"), "inside the namespace\n");
            const int HttpPort = 8080;
            httpd = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns, "busybox", "httpd", "-f", "-p", $"{address}:{HttpPort}", "-h", www]))!;
            var page = await HttpGetWithRetry(new IPEndPoint(address, HttpPort), TimeSpan.FromSeconds(15));
            Assert.Contains("200 OK", page, StringComparison.Ordinal);
            Assert.Contains("inside the namespace", page, StringComparison.Ordinal);

            // client on loopback → routing mesh → replica address on the bridge.
            await using (var mesh = new MeshRouter(new MeshOptions { ListenAddresses = [IPAddress.Loopback] }))
            {
                var meshPort = FreeLoopbackPort();
                mesh.Update([new MeshRoute(meshPort, PortProtocol.Tcp, ServiceName.Parse("web"), [new IPEndPoint(address, HttpPort)])]);
                var viaMesh = await HttpGetWithRetry(new IPEndPoint(IPAddress.Loopback, meshPort), TimeSpan.FromSeconds(15));
                Assert.Contains("inside the namespace", viaMesh, StringComparison.Ordinal);
            }

            // namespace → gateway: a host listener on the bridge's address hears the namespace.
            using var listener = new TcpListener(attachment.Gateway, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var accept = listener.AcceptTcpClientAsync();
            using var nc = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns, "busybox", "sh", "-c", $"echo from-the-namespace | busybox nc {attachment.Gateway} {port}"])
            {
                RedirectStandardError = true,
            })!;
            using var peer = await accept.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(address, ((IPEndPoint)peer.Client.RemoteEndPoint!).Address);
            using var reader = new StreamReader(peer.GetStream());
            var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal("from-the-namespace", line);
            peer.Close();
            if (!nc.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                nc.Kill();
            }
        }
        finally
        {
            if (httpd is not null)
            {
                if (!httpd.HasExited)
                {
                    httpd.Kill();
                }
                await httpd.WaitForExitAsync();
                httpd.Dispose();
            }
            TestBridge.Run("ip", "netns", "delete", ns);
            Directory.Delete(www, recursive: true);
        }
        // The kernel dismantles a deleted namespace (and the veth pair in it) asynchronously.
        var gone = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (Directory.Exists($"/sys/class/net/{hostVeth}") && DateTime.UtcNow < gone)
        {
            await Task.Delay(50);
        }
        Assert.False(Directory.Exists($"/sys/class/net/{hostVeth}"), $"{hostVeth} outlived its namespace");
    }

    private static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<string> HttpGetWithRetry(IPEndPoint endpoint, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(endpoint).WaitAsync(TimeSpan.FromSeconds(3));
                var stream = client.GetStream();
                await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /index.html HTTP/1.0\r\n\r\n"));
                using var reader = new StreamReader(stream);
                return await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}

/// <summary>The host network tests change shared host state (iptables chains); they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostNetworkCollection
{
    public const string Name = "host network";
}
