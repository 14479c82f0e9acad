using System.Net;
using Fleet.Core.Ids;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Node.Networking;

/// <summary>
/// BridgeNetwork puts replicas on a Linux bridge of the node (Docker's default bridge network):
/// <see cref="PrepareAsync"/> makes the bridge, gives it the gateway address (the subnet's first
/// host), brings it up, turns on IPv4 forwarding and adds the egress NAT and FORWARD rules; the
/// runtime then makes each replica's veth pair, address and default route over netlink from the
/// annotations the driver writes from <see cref="Attach"/>'s answer. Addresses live in
/// {data}/network/{bridge}.json (<see cref="AddressBook"/>). <see cref="TearDown"/> removes the
/// bridge and exactly the rules tagged for it.
/// </summary>
public sealed partial class BridgeNetwork : IReplicaNetwork
{
    private const string IpForwardPath = "/proc/sys/net/ipv4/ip_forward";

    private readonly BridgeNetworkOptions _options;
    private readonly AddressBook _addresses;
    private readonly ILogger _logger;
    private readonly string _routesFile;

    public BridgeNetwork(NodePaths paths, BridgeNetworkOptions? options = null, ILogger<BridgeNetwork>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        _options = options ?? new BridgeNetworkOptions();
        ValidateBridgeName(_options.Bridge);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        AllocationsFile = Path.Combine(paths.Network, $"{_options.Bridge}.json");
        _routesFile = HostGatewayRoutes.RecordPath(paths, _options.Bridge);
        _addresses = AddressBook.Open(AllocationsFile, _options.Subnet);
    }

    public string Bridge => _options.Bridge;

    public Ipv4Subnet Subnet => _options.Subnet;

    /// <summary>Gateway is the bridge's own address and the replicas' default route.</summary>
    public IPAddress Gateway => _options.Subnet.Gateway;

    /// <summary>AllocationsFile is where the address allocations are kept.</summary>
    public string AllocationsFile { get; }

    /// <summary>Allocations are the current replica addresses, by replica id text.</summary>
    public IReadOnlyDictionary<string, IPAddress> Allocations => _addresses.Snapshot();

    public Task PrepareAsync(CancellationToken cancellationToken) =>
        Task.Run(() => Prepare(cancellationToken), cancellationToken);

    public NetworkAttachment Attach(ReplicaId id)
    {
        var address = _addresses.Allocate(id.ToString());
        return new NetworkAttachment(
            Bridge,
            address,
            Subnet.PrefixLength,
            Gateway,
            ResolvConf.FromHostFile(_options.HostResolvConf),
            _options.ExtraHosts);
    }

    public void Release(ReplicaId id)
    {
        if (_addresses.Release(id.ToString()))
        {
            Log.Released(_logger, id.ToString(), Bridge);
        }
    }

    /// <summary>
    /// TearDown removes the host-gateway routes to peer nodes (<see cref="HostGatewayRoutes"/>),
    /// the iptables rules tagged for this bridge and the bridge itself (replica
    /// veths still on it are detached by the kernel). The allocation file and IPv4 forwarding are
    /// left as they are: other networks on the host may rely on forwarding.
    /// </summary>
    public void TearDown()
    {
        HostGatewayRoutes.Remove(_routesFile, Bridge, null);
        var rules = NatRules.Remove(Bridge);
        if (LinkExists())
        {
            HostCommand.Check("ip", "link", "delete", Bridge);
        }
        Log.TornDown(_logger, Bridge, rules);
    }

    // Links are asked of `ip`, not read from /sys/class/net: sysfs shows the network namespace it
    // was mounted in, which is not fleetd's own when fleetd runs in a namespace of its own (a node
    // per namespace, `nsenter --net`) without a sysfs of its own.
    private bool LinkExists() => HostCommand.Run("ip", "-o", "link", "show", "dev", Bridge).Succeeded;

    private bool LinkIsBridge() =>
        HostCommand.Run("ip", "-o", "link", "show", "type", "bridge").StandardOutput.Split('\n')
            .Any(line => line.Split(':', 3) is [_, var name, _] && name.Trim() == Bridge);

    private void Prepare(CancellationToken cancellationToken)
    {
        if (!LinkExists())
        {
            // Another fleetd (or the runtime) may create it at the same moment; "exists" is fine.
            var created = HostCommand.Run("ip", "link", "add", "name", Bridge, "type", "bridge");
            if (!created.Succeeded && !LinkExists())
            {
                throw new InvalidOperationException($"cannot create bridge {Bridge}: {created.StandardError}");
            }
        }
        if (!LinkIsBridge())
        {
            throw new InvalidOperationException($"interface {Bridge} exists but is not a bridge; choose another bridge name");
        }
        cancellationToken.ThrowIfCancellationRequested();
        var gateway = $"{Gateway}/{Subnet.PrefixLength}";
        HostCommand.Check("ip", "address", "replace", gateway, "dev", Bridge);
        // The bridge is Fleet's: an address left from an earlier subnet would route a stale network here.
        foreach (var stale in BridgeAddresses().Where(a => a != gateway).ToList())
        {
            HostCommand.Check("ip", "address", "delete", stale, "dev", Bridge);
        }
        HostCommand.Check("ip", "link", "set", "dev", Bridge, "up");
        if (File.ReadAllText(IpForwardPath).Trim() != "1")
        {
            File.WriteAllText(IpForwardPath, "1");
        }
        cancellationToken.ThrowIfCancellationRequested();
        NatRules.Ensure(Bridge, NatRules.For(Bridge, Subnet, _options.EgressNat));
        Log.Prepared(_logger, Bridge, Gateway.ToString(), Subnet.ToString(), _options.EgressNat, _addresses.Count);
    }

    private IEnumerable<string> BridgeAddresses()
    {
        // `ip -4 -o address show dev X`: "7: X    inet 10.88.0.1/16 brd 10.88.255.255 scope global X\ ..."
        foreach (var line in HostCommand.Check("ip", "-4", "-o", "address", "show", "dev", Bridge).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var inet = Array.IndexOf(words, "inet");
            if (inet >= 0 && inet + 1 < words.Length)
            {
                yield return words[inet + 1];
            }
        }
    }

    private static void ValidateBridgeName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 15 || name.Any(c => c is '/' or ':' || char.IsWhiteSpace(c) || char.IsControl(c)) || name is "." or "..")
        {
            throw new ArgumentException($"`{name}` is not a Linux interface name (1..15 characters, no '/', ':' or spaces)", nameof(name));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "bridge {Bridge} ready: gateway {Gateway}, subnet {Subnet}, egress NAT {EgressNat}, {Allocations} address(es) allocated")]
        public static partial void Prepared(ILogger logger, string bridge, string gateway, string subnet, bool egressNat, int allocations);

        [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "released the address of {Replica} on {Bridge}")]
        public static partial void Released(ILogger logger, string replica, string bridge);

        [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "bridge {Bridge} torn down ({Rules} iptables rule(s) removed)")]
        public static partial void TornDown(ILogger logger, string bridge, int rules);
    }
}
