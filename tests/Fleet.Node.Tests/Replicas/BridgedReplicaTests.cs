using System.Net;
using System.Security.Cryptography;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Node.Networking;

namespace Fleet.Node.Tests.Replicas;

/// <summary>The driver over the real node network: a test bridge (ft + 6 random characters) and a random /24.</summary>
public sealed class BridgedReplicaTests : IDisposable
{
    private readonly NodeSandbox _node = new();
    private readonly BridgeNetwork _network;

    public BridgedReplicaTests()
    {
        Assert.True(Environment.IsPrivilegedProcess, "bridged replicas need root (bridge, veth, iptables)");
        _network = new BridgeNetwork(_node.Paths, new BridgeNetworkOptions
        {
            Bridge = "ft" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 6),
            Subnet = Ipv4Subnet.Parse($"10.{RandomNumberGenerator.GetInt32(100, 250)}.{RandomNumberGenerator.GetInt32(0, 256)}.0/24"),
            EgressNat = false,
        });
    }

    public void Dispose()
    {
        try
        {
            _node.Dispose();
        }
        finally
        {
            _network.TearDown();
        }
    }

    [Fact]
    public async Task A_bridged_replica_gets_its_address_answers_on_it_and_gives_it_back_when_stopped()
    {
        // The driver prepares the network (bridge, rules) before the first attachment.
        var driver = _node.Driver(network: _network);
        var id = NodeSandbox.Id("www");
        var spec = _node.Service("www", "mkdir -p /www && echo hello-bridge > /www/index.html && exec httpd -f -p 8080 -h /www") with
        {
            Health = new HealthCheck { Probe = new HttpProbe("/", 8080), Interval = TimeSpan.FromMilliseconds(500), Retries = 20 },
        };
        await driver.StartAsync(NodeSandbox.Start(id, spec), CancellationToken.None);

        var healthy = _node.Observer.WaitFor(id, s => s.Phase == ReplicaPhase.Healthy, "Healthy");
        var address = IPAddress.Parse(healthy.Ip!);
        Assert.Equal(_network.Allocations[id.ToString()], address);
        Assert.Contains($"{address}\t{id}", File.ReadAllText(Path.Combine(_node.Paths.Replica(id), "hosts")), StringComparison.Ordinal);

        // From the host, straight to the replica's address on the bridge.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("hello-bridge\n", await http.GetStringAsync(new Uri($"http://{address}:8080/")));

        await driver.StopAsync(id, CancellationToken.None);
        Assert.False(_network.Allocations.ContainsKey(id.ToString()));
    }
}
