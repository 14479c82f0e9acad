using System.Net;
using System.Text.Json;
using Fleet.Core.Ids;
using Fleet.Node.Networking;

namespace Fleet.Node.Tests.Networking;

/// <summary>Address allocation: persisted, stable per replica, never shared, never gateway/network/broadcast.</summary>
public sealed class BridgeNetworkAllocationTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("fleet-alloc-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private BridgeNetwork Open(string subnet = "10.123.45.0/24") =>
        new(new NodePaths(_dataDir), new BridgeNetworkOptions { Bridge = "ftalloc", Subnet = Ipv4Subnet.Parse(subnet) });

    private static ReplicaId Id(string text) => ReplicaId.TryParse(text, out var id, out var error) ? id : throw new ArgumentException(error);

    [Fact]
    public void Attach_gives_distinct_host_addresses_on_the_bridge_with_the_gateway_route()
    {
        var network = Open();
        var a = network.Attach(Id("web-aaaaa"));
        var b = network.Attach(Id("web-bbbbb"));

        Assert.Equal("ftalloc", a.Bridge);
        Assert.Equal(IPAddress.Parse("10.123.45.1"), a.Gateway);
        Assert.Equal(24, a.PrefixLength);
        Assert.Equal("10.123.45.2/24", a.Cidr);
        Assert.Equal(IPAddress.Parse("10.123.45.3"), b.Address);
        Assert.Equal(a.Address, network.Attach(Id("web-aaaaa")).Address);
    }

    [Fact]
    public void Allocations_survive_a_restart_and_the_same_replica_gets_its_address_back()
    {
        var first = Open();
        var addresses = Enumerable.Range(0, 5).Select(i => first.Attach(Id($"web-aaaa{i}")).Address).ToList();
        first.Release(Id("web-aaaa2"));

        var reopened = Open();
        Assert.Equal(4, reopened.Allocations.Count);
        foreach (var i in new[] { 0, 1, 3, 4 })
        {
            Assert.Equal(addresses[i], reopened.Attach(Id($"web-aaaa{i}")).Address);
        }
        // The released address is not handed out first again (next-fit); a new replica gets a fresh one.
        var newcomer = reopened.Attach(Id("web-zzzzz")).Address;
        Assert.DoesNotContain(newcomer, addresses);

        var file = JsonDocument.Parse(File.ReadAllText(reopened.AllocationsFile));
        Assert.Equal(newcomer!.ToString(), file.RootElement.GetProperty("replicas").GetProperty("web-zzzzz").GetString());
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(reopened.AllocationsFile)!, "*.tmp"));
    }

    [Fact]
    public void Exhausted_subnet_is_a_clear_error_and_release_makes_room()
    {
        // A /29 has 8 addresses: network, gateway and broadcast leave 5 for replicas.
        var network = Open("10.123.46.0/29");
        var given = Enumerable.Range(0, 5).Select(i => network.Attach(Id($"db-aaaa{i}")).Address!).ToList();

        Assert.Equal(5, given.Distinct().Count());
        Assert.DoesNotContain(IPAddress.Parse("10.123.46.0"), given);
        Assert.DoesNotContain(IPAddress.Parse("10.123.46.1"), given);
        Assert.DoesNotContain(IPAddress.Parse("10.123.46.7"), given);
        var error = Assert.Throws<AddressExhaustedException>(() => network.Attach(Id("db-bbbbb")));
        Assert.Contains("10.123.46.0/29", error.Message, StringComparison.Ordinal);
        Assert.Contains("no free address", error.Message, StringComparison.Ordinal);

        network.Release(Id("db-aaaa3"));
        Assert.Equal(given[3], network.Attach(Id("db-bbbbb")).Address);
        network.Release(Id("db-unknown"));
    }

    [Fact]
    public void Concurrent_attaches_never_share_an_address()
    {
        var network = Open("10.123.47.0/24");
        var addresses = new IPAddress?[200];
        Parallel.For(0, 200, i => addresses[i] = network.Attach(Id($"api-{i:d5}")).Address);
        Assert.Equal(200, addresses.Distinct().Count());
        Assert.Equal(200, Open("10.123.47.0/24").Allocations.Count);
    }

    [Fact]
    public void Unreadable_allocation_file_is_an_error_not_an_empty_book()
    {
        var network = Open();
        network.Attach(Id("web-aaaaa"));
        File.WriteAllText(network.AllocationsFile, "{ not json");
        var error = Assert.Throws<InvalidDataException>(() => Open());
        Assert.Contains(network.AllocationsFile, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10.88.0.0/16", null)]
    [InlineData("10.88.0.1/16", "host bits")]
    [InlineData("10.88.0.0/31", "too small")]
    [InlineData("10.88.0.0", "CIDR")]
    [InlineData("::1/64", "CIDR")]
    public void Subnet_text_is_validated(string text, string? error)
    {
        var ok = Ipv4Subnet.TryParse(text, out _, out var message);
        Assert.Equal(error is null, ok);
        if (error is not null)
        {
            Assert.Contains(error, message, StringComparison.Ordinal);
        }
    }
}
