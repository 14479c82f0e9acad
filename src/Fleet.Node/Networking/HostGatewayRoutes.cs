using System.Net;
using System.Text.Json;
using Fleet.Core.State;
using Fleet.Images.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Node.Networking;

/// <summary>
/// HostGatewayRoutes keeps this machine's routes to the other nodes' replica subnets (and the
/// FORWARD/NAT rules for those peers) in step with the cluster's nodes:
/// <code>
/// Update(nodes) ─► read local addresses (ip -4 address) ─► HostGateway.Plan
///               ─► ip route replace SUBNET via NODE [src SELF]  for each new or changed route
///               ─► ip route delete SUBNET via NODE              for each route no longer planned
///               ─► iptables rules tagged fleet:{bridge}:peer    exactly the planned peers'
/// </code>
/// What is installed is recorded in {data}/network/{bridge}.routes.json, so a restarted fleetd
/// or <see cref="TearDown"/> (also run by <see cref="BridgeNetwork.TearDown"/>) removes exactly
/// the routes Fleet made, never a route someone else made for the same subnet. Updates with the
/// same nodes are free; the machine is re-read at most every <see cref="RecheckInterval"/> so a
/// flushed route or a new interface is noticed.
/// </summary>
public sealed partial class HostGatewayRoutes
{
    /// <summary>RecheckInterval is how often an unchanged node list is planned and applied again.</summary>
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly string _self;
    private readonly string _bridge;
    private readonly Ipv4Subnet? _subnet;
    private readonly string? _networkNamespace;
    private readonly ILogger _logger;
    private string? _lastNodes;
    private long _lastAppliedTicks;
    private HashSet<string> _lastSkips = [];

    /// <summary>Creates the route keeper of node <paramref name="self"/>, whose replicas are on <paramref name="bridge"/> in <paramref name="subnet"/>.</summary>
    public HostGatewayRoutes(NodePaths paths, string self, string bridge, Ipv4Subnet? subnet, ILogger<HostGatewayRoutes>? logger = null)
        : this(paths, self, bridge, subnet, null, logger)
    {
    }

    /// <summary>The network-namespace form lets a test play a second machine; fleetd uses the host's.</summary>
    internal HostGatewayRoutes(NodePaths paths, string self, string bridge, Ipv4Subnet? subnet, string? networkNamespace, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(paths);
        _self = self;
        _bridge = bridge;
        _subnet = subnet;
        _networkNamespace = networkNamespace;
        _logger = logger ?? NullLogger.Instance;
        RecordFile = RecordPath(paths, bridge);
    }

    /// <summary>RecordFile lists the routes this node installed.</summary>
    public string RecordFile { get; }

    /// <summary>Installed are the routes in place now (as recorded).</summary>
    public IReadOnlyList<HostRoute> Installed => ReadRecord(RecordFile);

    /// <summary>Current is the last plan applied (its skips say why a node has no route).</summary>
    public HostGatewayPlan Current { get; private set; } = HostGatewayPlan.Empty;

    /// <summary>
    /// Update applies the plan for <paramref name="nodes"/> (every node the cluster knows, this
    /// one included). A node missing from the list (it left) loses its route and rules. Returns
    /// true when the plan was applied, false when nothing was due.
    /// </summary>
    public bool Update(IReadOnlyList<NodeStatus> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        lock (_lock)
        {
            var key = string.Join(';', nodes.OrderBy(n => n.Name.Value, StringComparer.Ordinal).Select(n => $"{n.Name.Value}={n.Address}/{n.ContainerSubnet}"));
            if (key == _lastNodes && Environment.TickCount64 - _lastAppliedTicks < (long)RecheckInterval.TotalMilliseconds)
            {
                return false;
            }
            var local = HostGateway.ParseAddresses(HostCommand.CheckIn(_networkNamespace, "ip", "-4", "-o", "address", "show"));
            var plan = HostGateway.Plan(_self, _subnet, nodes, local);
            Apply(plan);
            _lastNodes = key;
            _lastAppliedTicks = Environment.TickCount64;
            return true;
        }
    }

    /// <summary>TearDown removes every recorded route and the peer rules; the node stops routing to its peers.</summary>
    public void TearDown()
    {
        lock (_lock)
        {
            var removed = Remove(RecordFile, _bridge, _networkNamespace);
            Current = HostGatewayPlan.Empty;
            _lastNodes = null;
            if (removed > 0)
            {
                Log.TornDown(_logger, removed);
            }
        }
    }

    /// <summary>Remove deletes the routes recorded for <paramref name="bridge"/> and its peer rules; returns the routes removed.</summary>
    internal static int Remove(string recordFile, string bridge, string? networkNamespace)
    {
        var removed = 0;
        foreach (var route in ReadRecord(recordFile))
        {
            // Gone already (the interface went away, someone flushed it) is as good as removed.
            if (HostCommand.RunIn(networkNamespace, "ip", RouteArguments("delete", route)).Succeeded)
            {
                removed++;
            }
        }
        NatRules.RemoveTagged(NatRules.PeerTag(bridge), networkNamespace);
        if (File.Exists(recordFile))
        {
            File.Delete(recordFile);
        }
        return removed;
    }

    internal static string RecordPath(NodePaths paths, string bridge) => Path.Combine(paths.Network, $"{bridge}.routes.json");

    private void Apply(HostGatewayPlan plan)
    {
        var installed = ReadRecord(RecordFile);
        var failed = new List<HostRoute>();
        // Record first what will be there, so a crash half-way still leaves every route findable.
        WriteRecord(RecordFile, installed.Concat(plan.Routes).Distinct().ToList());
        foreach (var gone in installed.Where(r => !plan.Routes.Contains(r)))
        {
            if (HostCommand.RunIn(_networkNamespace, "ip", RouteArguments("delete", gone)).Succeeded)
            {
                Log.RouteRemoved(_logger, gone.Destination.ToString(), gone.Via.ToString(), gone.Node);
            }
        }
        foreach (var route in plan.Routes)
        {
            var result = HostCommand.RunIn(_networkNamespace, "ip", RouteArguments("replace", route));
            if (!result.Succeeded)
            {
                failed.Add(route);
                Log.RouteFailed(_logger, route.Destination.ToString(), route.Via.ToString(), route.Node, result.StandardError);
            }
            else if (!installed.Contains(route))
            {
                Log.RouteAdded(_logger, route.Destination.ToString(), route.Via.ToString(), route.Node);
            }
        }
        var routed = plan.Routes.Where(r => !failed.Contains(r)).ToList();
        var skipped = plan.Skipped.Concat(failed.Select(r => new HostGatewaySkip(r.Node, $"route {r.Destination} via {r.Via} refused", Reachable: false))).ToList();
        WriteRecord(RecordFile, routed);
        NatRules.EnsureTagged(NatRules.PeerTag(_bridge), NatRules.ForPeers(_bridge, _subnet, routed), _networkNamespace);
        var skips = skipped.Select(s => $"{s.Node}: {s.Reason}").ToHashSet();
        foreach (var skip in skipped.Where(s => !_lastSkips.Contains($"{s.Node}: {s.Reason}")))
        {
            Log.NodeNotRouted(_logger, skip.Node, skip.Reason);
        }
        _lastSkips = skips;
        Current = new HostGatewayPlan(routed, skipped);
    }

    private static string[] RouteArguments(string verb, HostRoute route) => route.Source is { } source
        ? ["route", verb, route.Destination.ToString(), "via", route.Via.ToString(), "src", source.ToString()]
        : ["route", verb, route.Destination.ToString(), "via", route.Via.ToString()];

    private static List<HostRoute> ReadRecord(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }
        var records = JsonSerializer.Deserialize<List<RouteRecord>>(File.ReadAllBytes(path)) ?? [];
        return records.Select(r => new HostRoute(r.Node, Ipv4Subnet.Parse(r.Destination), IPAddress.Parse(r.Via), r.Source is null ? null : IPAddress.Parse(r.Source))).ToList();
    }

    private static void WriteRecord(string path, IReadOnlyList<HostRoute> routes)
    {
        if (routes.Count == 0)
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var records = routes.Select(r => new RouteRecord(r.Node, r.Destination.ToString(), r.Via.ToString(), r.Source?.ToString())).ToList();
        DurableFile.Replace(path, JsonSerializer.SerializeToUtf8Bytes(records));
    }

    private sealed record RouteRecord(string Node, string Destination, string Via, string? Source);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "host-gw: route {Subnet} via {Via} (node {Node})")]
        public static partial void RouteAdded(ILogger logger, string subnet, string via, string node);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "host-gw: route {Subnet} via {Via} removed (node {Node} left or moved)")]
        public static partial void RouteRemoved(ILogger logger, string subnet, string via, string node);

        [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "host-gw: cannot route {Subnet} via {Via} (node {Node}): {Error}; its replicas are out of this node's mesh reach")]
        public static partial void RouteFailed(ILogger logger, string subnet, string via, string node, string error);

        [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "host-gw: no route to node {Node}: {Reason}")]
        public static partial void NodeNotRouted(ILogger logger, string node, string reason);

        [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "host-gw: {Routes} route(s) to peer nodes removed")]
        public static partial void TornDown(ILogger logger, int routes);
    }
}
