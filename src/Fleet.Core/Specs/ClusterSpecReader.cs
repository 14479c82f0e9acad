using System.Net;
using System.Text.RegularExpressions;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Yaml;

namespace Fleet.Core.Specs;

/// <summary>
/// ClusterSpecReader turns a `kind: Cluster` document into a <see cref="ClusterSpec"/>, with
/// every mistake reported the same way as for services.
/// </summary>
internal sealed partial class ClusterSpecReader(FieldReader reader)
{
    private static readonly string[] TopKeys = ["kind", "name", "nodes", "persistence", "registry", "rebalance", "autoscaler"];

    private static readonly Dictionary<string, NodeRole> RoleWords = new(StringComparer.Ordinal)
    {
        ["control-plane"] = NodeRole.ControlPlane,
        ["worker"] = NodeRole.Worker,
    };

    private static readonly Dictionary<string, PersistenceProvider> ProviderWords = new(StringComparer.Ordinal)
    {
        ["sqlite"] = PersistenceProvider.Sqlite,
        ["postgres"] = PersistenceProvider.Postgres,
    };

    [GeneratedRegex(@"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex HostNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9_./-]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelKeyPattern();

    public static IReadOnlyCollection<string> Keys => TopKeys;

    /// <summary>Read returns the cluster, or null when the document has any error (all of them reported).</summary>
    public ClusterSpec? Read(Fields top)
    {
        var errorsBefore = reader.ErrorCount;
        var name = top.Require("name") is { } nameNode ? reader.NonEmptyString(nameNode, "name") : null;
        var nodes = top.Require("nodes") is { } nodesNode ? ReadNodes(nodesNode) : null;
        var persistence = top.Get("persistence") is { } p ? ReadPersistence(p) : new PersistenceSpec();
        var registry = top.Get("registry") is { } r ? ReadRegistry(r) : new RegistrySettings();
        var rebalance = top.Get("rebalance") is { } b ? ReadRebalance(b) : new RebalanceSettings();
        var autoscaler = top.Get("autoscaler") is { } a ? ReadAutoscaler(a) : new AutoscalerSettings();

        if (reader.ErrorCount > errorsBefore || name is null || nodes is null || persistence is null || registry is null || rebalance is null || autoscaler is null)
        {
            return null;
        }
        return new ClusterSpec { Name = name, Nodes = nodes, Persistence = persistence, Registry = registry, Rebalance = rebalance, Autoscaler = autoscaler };
    }

    private List<NodeSpec>? ReadNodes(YNode node)
    {
        var items = reader.Sequence(node, "nodes");
        if (items is null)
        {
            return null;
        }
        if (items.Count == 0)
        {
            reader.Error(node, "nodes: the cluster needs at least one node");
            return null;
        }
        var errorsBefore = reader.ErrorCount;
        var result = new List<NodeSpec>();
        var names = new Dictionary<NodeName, int>();
        var endpoints = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var dataDirs = new Dictionary<string, int>(StringComparer.Ordinal);
        var bridges = new Dictionary<string, int>(StringComparer.Ordinal);
        var subnets = new List<(Ipv4Cidr Subnet, int Line)>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"nodes[{i}]";
            var fields = reader.Mapping(items[i], path, ["name", "address", "ports", "roles", "labels", "dataDir", "network"]);
            if (fields is null)
            {
                continue;
            }
            var name = fields.Require("name") is { } n ? reader.Parsed<NodeName>(n, $"{path}.name", NodeName.TryParse) : null;
            var address = fields.Require("address") is { } a ? ReadAddress(a, $"{path}.address") : null;
            var ports = fields.Get("ports") is { } p ? ReadPorts(p, $"{path}.ports") : new NodePorts();
            var roles = fields.Get("roles") is { } r ? ReadRoles(r, $"{path}.roles") : null;
            var labels = fields.Get("labels") is { } l ? reader.StringMap(l, $"{path}.labels", CheckLabelKey) : null;
            var dataDir = fields.Get("dataDir") is { } d ? reader.NonEmptyString(d, $"{path}.dataDir") : null;
            var network = fields.Get("network") is { } w ? ReadNetwork(w, $"{path}.network") : null;

            if (name is { } nodeName)
            {
                if (names.TryGetValue(nodeName, out var line))
                {
                    reader.Error(fields.Get("name")!, $"{path}.name: node `{nodeName}` is already declared at line {line}");
                }
                names.TryAdd(nodeName, fields.Get("name")!.Line);
            }
            if (dataDir is not null && !dataDir.StartsWith('/'))
            {
                reader.Error(fields.Get("dataDir")!, $"{path}.dataDir: `{dataDir}` must be an absolute path");
            }
            if (address is not null && ports is not null)
            {
                var taken = new List<string>();
                var firstLine = 0;
                foreach (var (key, port) in new[] { ("api", ports.Api), ("http", ports.Http), ("cluster", ports.Cluster) })
                {
                    var endpoint = $"{(IsLoopback(address) ? "loopback" : address)}:{port}";
                    if (endpoints.TryGetValue(endpoint, out var line))
                    {
                        taken.Add($"{key} {port}");
                        firstLine = firstLine == 0 ? line : firstLine;
                    }
                    endpoints.TryAdd(endpoint, items[i].Line);
                }
                if (taken.Count > 0)
                {
                    reader.Error(fields.Get("ports") ?? fields.Get("address")!,
                        $"{path}: port{(taken.Count == 1 ? "" : "s")} {string.Join(", ", taken)} on {address} already used by the node at line {firstLine}; nodes on one machine need distinct ports");
                }
            }
            var effectiveDataDir = dataDir ?? NodeSpec.DefaultDataDir;
            if (address is not null)
            {
                // Two nodes on one machine must not share a data dir; loopback addresses are one machine.
                var machineDir = $"{(IsLoopback(address) ? "loopback" : address)}|{effectiveDataDir}";
                var at = fields.Get("dataDir") ?? fields.Node;
                if (dataDirs.TryGetValue(machineDir, out var line))
                {
                    reader.Error(at, $"{path}.dataDir: `{effectiveDataDir}` is already the data dir of the node at line {line} on the same machine; give each node its own");
                }
                dataDirs.TryAdd(machineDir, at.Line);
            }
            if (network is { } declared && address is not null)
            {
                CheckNetworkIsOwn(declared, fields.Get("network")!, $"{path}.network", address, bridges, subnets);
            }
            if (name is not null && address is not null && ports is not null)
            {
                result.Add(new NodeSpec
                {
                    Name = name.Value,
                    Address = address,
                    Ports = ports,
                    Roles = roles ?? new HashSet<NodeRole> { NodeRole.ControlPlane, NodeRole.Worker },
                    Labels = labels ?? new Dictionary<string, string>(),
                    DataDir = effectiveDataDir,
                    Network = network?.Spec,
                });
            }
        }
        var controlPlanes = result.Count(n => n.Roles.Contains(NodeRole.ControlPlane));
        if (reader.ErrorCount == errorsBefore && controlPlanes == 0)
        {
            reader.Error(node, "nodes: at least one node needs the role `control-plane`");
        }
        else if (controlPlanes % 2 == 0 && controlPlanes > 0)
        {
            reader.Warn(node, $"nodes: {controlPlanes} control-plane nodes cannot keep a majority when split in half; use an odd number (1 or 3)");
        }
        return result;
    }

    private static YNode? PortNode(Fields nodeFields, string key) =>
        nodeFields.Get("ports") is YMapping ports ? ports.Entries.FirstOrDefault(e => e.Key.Value == key)?.Value : null;

    private string? ReadAddress(YNode node, string path)
    {
        var text = reader.NonEmptyString(node, path);
        if (text is null)
        {
            return null;
        }
        if (IPAddress.TryParse(text, out _) || HostNamePattern().IsMatch(text))
        {
            return text;
        }
        reader.Error(node, $"{path}: `{text}` is not an IP address or a host name");
        return null;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex BridgePattern();

    /// <summary>ReadNetwork reads `network: { bridge, subnet }`; the subnet's parsed form is kept for the overlap check.</summary>
    private (NodeNetworkSpec Spec, Ipv4Cidr? Subnet, YNode? BridgeNode, YNode? SubnetNode)? ReadNetwork(YNode node, string path)
    {
        var fields = reader.Mapping(node, path, ["bridge", "subnet"]);
        if (fields is null)
        {
            return null;
        }
        var errorsBefore = reader.ErrorCount;
        var bridge = fields.Get("bridge") is { } b ? reader.NonEmptyString(b, $"{path}.bridge") : null;
        if (bridge is not null && (bridge.Length > NodeNetworkSpec.MaxBridgeLength || !BridgePattern().IsMatch(bridge)))
        {
            reader.Error(fields.Get("bridge")!, $"{path}.bridge: `{bridge}` is not a Linux interface name: use 1 to {NodeNetworkSpec.MaxBridgeLength} letters, digits, '-', '_' or '.', starting with a letter or digit");
        }
        Ipv4Cidr? subnet = null;
        if (fields.Get("subnet") is { } s && reader.NonEmptyString(s, $"{path}.subnet") is { } text)
        {
            if (Ipv4Cidr.TryParse(text, out var parsed, out var error))
            {
                subnet = parsed;
            }
            else
            {
                reader.Error(s, $"{path}.subnet: {error}");
            }
        }
        if (reader.ErrorCount > errorsBefore)
        {
            return null;
        }
        return (new NodeNetworkSpec { Bridge = bridge, Subnet = subnet?.ToString() }, subnet, fields.Get("bridge"), fields.Get("subnet"));
    }

    /// <summary>
    /// CheckNetworkIsOwn refuses a bridge already used by another node on the same machine and a
    /// subnet overlapping another node's anywhere (replica addresses must name one replica).
    /// </summary>
    private void CheckNetworkIsOwn(
        (NodeNetworkSpec Spec, Ipv4Cidr? Subnet, YNode? BridgeNode, YNode? SubnetNode) network,
        YNode at,
        string path,
        string address,
        Dictionary<string, int> bridges,
        List<(Ipv4Cidr Subnet, int Line)> subnets)
    {
        if (network.Spec.Bridge is { } bridge)
        {
            var machineBridge = $"{(IsLoopback(address) ? "loopback" : address)}|{bridge}";
            var bridgeAt = network.BridgeNode ?? at;
            if (bridges.TryGetValue(machineBridge, out var line))
            {
                reader.Error(bridgeAt, $"{path}.bridge: `{bridge}` is already the bridge of the node at line {line} on the same machine; give each node its own");
            }
            bridges.TryAdd(machineBridge, bridgeAt.Line);
        }
        if (network.Subnet is { } subnet)
        {
            var subnetAt = network.SubnetNode ?? at;
            foreach (var (other, line) in subnets)
            {
                if (subnet.Overlaps(other))
                {
                    reader.Error(subnetAt, $"{path}.subnet: {subnet} overlaps {other} of the node at line {line}; every node needs a subnet of its own");
                    break;
                }
            }
            subnets.Add((subnet, subnetAt.Line));
        }
    }

    private NodePorts? ReadPorts(YNode node, string path)
    {
        var fields = reader.Mapping(node, path, ["api", "http", "cluster"]);
        if (fields is null)
        {
            return null;
        }
        var api = fields.Get("api") is { } a ? reader.Port(a, $"{path}.api") : NodePorts.DefaultApi;
        var http = fields.Get("http") is { } h ? reader.Port(h, $"{path}.http") : NodePorts.DefaultHttp;
        var cluster = fields.Get("cluster") is { } c ? reader.Port(c, $"{path}.cluster") : NodePorts.DefaultCluster;
        if (api is null || http is null || cluster is null)
        {
            return null;
        }
        if (api == http || api == cluster || http == cluster)
        {
            reader.Error(node, $"{path}: api, http and cluster must be three different ports, got {api}, {http} and {cluster}");
            return null;
        }
        return new NodePorts { Api = api.Value, Http = http.Value, Cluster = cluster.Value };
    }

    private HashSet<NodeRole>? ReadRoles(YNode node, string path)
    {
        var items = reader.Sequence(node, path);
        if (items is null)
        {
            return null;
        }
        if (items.Count == 0)
        {
            reader.Error(node, $"{path}: give at least one role: `control-plane`, `worker` or both");
            return null;
        }
        var roles = new HashSet<NodeRole>();
        for (var i = 0; i < items.Count; i++)
        {
            if (reader.Choice(items[i], $"{path}[{i}]", RoleWords) is { } role && !roles.Add(role))
            {
                reader.Error(items[i], $"{path}[{i}]: role `{((YScalar)items[i]).Value}` is listed twice");
            }
        }
        return roles;
    }

    private static string? CheckLabelKey(string key) =>
        key.Length <= 63 && LabelKeyPattern().IsMatch(key)
            ? null
            : $"invalid label `{key}`: use up to 63 letters, digits, '-', '_', '.' or '/', starting and ending with a letter or digit";

    private PersistenceSpec? ReadPersistence(YNode node)
    {
        var fields = reader.Mapping(node, "persistence", ["provider", "connectionString"]);
        if (fields is null)
        {
            return null;
        }
        var provider = fields.Get("provider") is { } p ? reader.Choice(p, "persistence.provider", ProviderWords) : PersistenceProvider.Sqlite;
        var connection = fields.Get("connectionString") is { } c ? reader.NonEmptyString(c, "persistence.connectionString") : null;
        if (provider == PersistenceProvider.Postgres && !fields.Has("connectionString"))
        {
            reader.Error(fields.Node, "persistence: provider `postgres` needs a `connectionString`, e.g. \"Host=10.0.0.5;Port=5432;Database=fleet;Username=fleet;Password=…\"");
        }
        if (provider == PersistenceProvider.Sqlite && fields.Has("connectionString"))
        {
            reader.Error(fields.KeyNode("connectionString")!, "persistence.connectionString: is only used with provider `postgres`; the sqlite journal lives in each control-plane node's data dir");
        }
        return provider is null ? null : new PersistenceSpec { Provider = provider.Value, ConnectionString = connection };
    }

    private RegistrySettings? ReadRegistry(YNode node)
    {
        var fields = reader.Mapping(node, "registry", ["insecure", "allowLoopback"]);
        if (fields is null)
        {
            return null;
        }
        var insecure = new List<string>();
        if (fields.Get("insecure") is { } i && reader.Sequence(i, "registry.insecure") is { } items)
        {
            for (var k = 0; k < items.Count; k++)
            {
                var path = $"registry.insecure[{k}]";
                if (reader.NonEmptyString(items[k], path) is not { } host)
                {
                    continue;
                }
                // A registry entry is a reference's host part: check it by parsing `host/x`.
                if (host.Contains('/', StringComparison.Ordinal) || !ImageReference.TryParse($"{host}/probe", out var parsed, out _) || parsed!.Registry != host)
                {
                    reader.Error(items[k], $"{path}: `{host}` is not a registry host[:port], e.g. registry.local:5000");
                    continue;
                }
                insecure.Add(host);
            }
        }
        var allowLoopback = fields.Get("allowLoopback") is { } l ? reader.Bool(l, "registry.allowLoopback") : true;
        return allowLoopback is null ? null : new RegistrySettings { Insecure = insecure, AllowLoopbackInsecure = allowLoopback.Value };
    }

    private RebalanceSettings? ReadRebalance(YNode node)
    {
        var fields = reader.Mapping(node, "rebalance", ["enabled", "maxConcurrent", "stateful", "threshold", "loadGap", "settleDelay"]);
        if (fields is null)
        {
            return null;
        }
        var errorsBefore = reader.ErrorCount;
        var defaults = new RebalanceSettings();
        var enabled = fields.Get("enabled") is { } e ? reader.Bool(e, "rebalance.enabled") : defaults.Enabled;
        var maxConcurrent = fields.Get("maxConcurrent") is { } m ? reader.Int(m, "rebalance.maxConcurrent", 1, 1000) : defaults.MaxConcurrent;
        var stateful = fields.Get("stateful") is { } s ? reader.Bool(s, "rebalance.stateful") : defaults.Stateful;
        var threshold = fields.Get("threshold") is { } t ? reader.Int(t, "rebalance.threshold", 0, 1_000_000) : defaults.Threshold;
        if (threshold is < RebalanceSettings.MinThreshold)
        {
            reader.Error(fields.Get("threshold")!, $"rebalance.threshold: {threshold} would flap (moving a replica between nodes that differ by one only swaps them); use {RebalanceSettings.MinThreshold} or more");
        }
        var loadGap = fields.Get("loadGap") is { } g ? reader.Parsed<Percentage>(g, "rebalance.loadGap", Percentage.TryParse)?.Value / 100 : defaults.LoadGap;
        if (loadGap is < 0 or > 1)
        {
            reader.Error(fields.Get("loadGap")!, $"rebalance.loadGap: {loadGap * 100:0.#}% is outside 0%..100%");
        }
        var settle = fields.Get("settleDelay") is { } d ? reader.Parsed<TimeSpan>(d, "rebalance.settleDelay", DurationText.TryParse) : defaults.SettleDelay;
        if (reader.ErrorCount > errorsBefore || enabled is null || maxConcurrent is null || stateful is null || threshold is null || loadGap is null || settle is null)
        {
            return null;
        }
        return new RebalanceSettings
        {
            Enabled = enabled.Value,
            MaxConcurrent = maxConcurrent.Value,
            Stateful = stateful.Value,
            Threshold = threshold.Value,
            LoadGap = loadGap.Value,
            SettleDelay = settle.Value,
        };
    }

    private static bool IsLoopback(string address) =>
        address == "localhost" || (IPAddress.TryParse(address, out var ip) && IPAddress.IsLoopback(ip));
}
