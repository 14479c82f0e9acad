using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Daemon;

/// <summary>DriverKind selects how this node's agent runs replicas.</summary>
public enum DriverKind
{
    /// <summary>None: no container runtime is wired in yet; every start is reported Failed with that reason.</summary>
    None,

    /// <summary>Memory: pretend replicas (control-plane tests and demos only; nothing runs).</summary>
    Memory,

    /// <summary>Container: real containers through the native runtime (the default).</summary>
    Container,
}

/// <summary>LogFormat selects the console log format.</summary>
public enum LogFormat
{
    Json,
    Text,
}

/// <summary>DaemonArguments are fleetd's command-line flags as given; null means "not given".</summary>
public sealed record DaemonArguments
{
    public string? ConfigFile { get; init; }
    public string? Node { get; init; }
    public string? DataDir { get; init; }
    public string? Address { get; init; }
    public int? ApiPort { get; init; }
    public int? HttpPort { get; init; }
    public int? ClusterPort { get; init; }
    public DriverKind Driver { get; init; } = DriverKind.Container;
    public LogFormat LogFormat { get; init; } = LogFormat.Json;
    public string? Bridge { get; init; }
    public string? Subnet { get; init; }
}

/// <summary>
/// DaemonOptions are what fleetd runs with, after the embedded defaults, the cluster file's
/// entry for this node and the flags (in that order of precedence, flags last) are merged.
/// </summary>
public sealed record DaemonOptions
{
    /// <summary>DefaultNodeName is the node's name when there is no cluster file and no --node.</summary>
    public const string DefaultNodeName = "local";

    public required NodeName Node { get; init; }
    public required string Address { get; init; }
    public required NodePorts Ports { get; init; }
    public required string DataDir { get; init; }
    public required IReadOnlySet<NodeRole> Roles { get; init; }
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>SeedNodes are host:port of the control-plane nodes; empty for a single node.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];
    public PersistenceSpec Persistence { get; init; } = new();
    public DriverKind Driver { get; init; }
    public LogFormat LogFormat { get; init; }

    /// <summary>Bridge and Subnet are the node network's (BridgeNetworkOptions' defaults fleet0, 10.88.0.0/16); two nodes on one machine need their own.</summary>
    public string Bridge { get; init; } = Fleet.Node.Networking.BridgeNetworkOptions.DefaultBridge;
    public Fleet.Node.Networking.Ipv4Subnet Subnet { get; init; } = Fleet.Node.Networking.Ipv4Subnet.Parse(Fleet.Node.Networking.BridgeNetworkOptions.DefaultSubnet);

    /// <summary>
    /// ClusterNodes are every node of the cluster file (this one with its flags applied); the API
    /// reaches another node's replicas (logs, exec) at its address and api port. Empty without a file.
    /// </summary>
    public IReadOnlyList<NodeSpec> ClusterNodes { get; init; } = [];

    /// <summary>Registry is the cluster file's registry settings (plain-HTTP registries) for this node's pulls; the defaults without a file.</summary>
    public RegistrySettings Registry { get; init; } = new();

    /// <summary>Rebalance is the cluster file's `rebalance:` block for this node's controller; the defaults without a file.</summary>
    public RebalanceSettings Rebalance { get; init; } = new();
    /// <summary>Autoscaler is the cluster file's autoscaler settings (evaluation and sample intervals, window); the defaults without a file.</summary>
    public AutoscalerSettings Autoscaler { get; init; } = new();

    /// <summary>
    /// Resolve merges defaults, the cluster file and the flags. It returns null and fills
    /// <paramref name="errors"/> (file:line:column for file problems) when they do not fit.
    /// </summary>
    public static DaemonOptions? Resolve(DaemonArguments args, Func<string, string> readFile, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(readFile);
        ArgumentNullException.ThrowIfNull(errors);
        NodeSpec? entry = null;
        ClusterSpec? cluster = null;
        if (args.ConfigFile is { } file)
        {
            string text;
            try
            {
                text = readFile(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{file}: error: cannot read: {e.Message}");
                return null;
            }
            var set = SpecLoader.Load(file, text);
            errors.AddRange(set.Errors.Select(d => d.ToString()));
            if (!set.IsValid)
            {
                return null;
            }
            if (set.Clusters.Count == 0)
            {
                errors.Add($"{file}: error: no `kind: Cluster` document; --config takes a cluster file");
                return null;
            }
            cluster = set.Clusters[0];
            if (args.Node is null)
            {
                errors.Add($"{file}: error: --node NAME is required with --config (one of: {string.Join(", ", cluster.Nodes.Select(n => n.Name))})");
                return null;
            }
        }

        var nodeName = default(NodeName);
        if (args.Node is { } nodeText && !NodeName.TryParse(nodeText, out nodeName, out var nodeError))
        {
            errors.Add($"--node: {nodeError}");
            return null;
        }
        if (args.Node is null)
        {
            nodeName = NodeName.Parse(DefaultNodeName);
        }
        if (cluster is not null)
        {
            entry = cluster.FindNode(nodeName);
            if (entry is null)
            {
                errors.Add($"{args.ConfigFile}: error: node `{nodeName}` is not in cluster `{cluster.Name}` (nodes: {string.Join(", ", cluster.Nodes.Select(n => n.Name))})");
                return null;
            }
        }

        var ports = entry?.Ports ?? new NodePorts();
        ports = ports with
        {
            Api = args.ApiPort ?? ports.Api,
            Http = args.HttpPort ?? ports.Http,
            Cluster = args.ClusterPort ?? ports.Cluster,
        };
        foreach (var (name, port) in new[] { ("--api-port", ports.Api), ("--http-port", ports.Http), ("--cluster-port", ports.Cluster) })
        {
            if (port is < 1 or > 65535)
            {
                errors.Add($"{name}: {port} is not a TCP port (1..65535)");
            }
        }
        if (new[] { ports.Api, ports.Http, ports.Cluster }.Distinct().Count() < 3)
        {
            errors.Add($"the api, http and cluster ports must differ (got {ports.Api}, {ports.Http}, {ports.Cluster})");
        }
        // The flags win over the node's `network:` entry, which wins over the defaults (fleet0, 10.88.0.0/16).
        var bridge = args.Bridge ?? entry?.Network?.Bridge ?? Fleet.Node.Networking.BridgeNetworkOptions.DefaultBridge;
        if (bridge.Length is 0 or > 15 || bridge.Any(c => char.IsWhiteSpace(c) || c == '/'))
        {
            errors.Add($"--bridge: `{bridge}` is not a Linux interface name (1..15 characters, no spaces or /)");
        }
        var subnet = default(Fleet.Node.Networking.Ipv4Subnet);
        if (!Fleet.Node.Networking.Ipv4Subnet.TryParse(args.Subnet ?? entry?.Network?.Subnet ?? Fleet.Node.Networking.BridgeNetworkOptions.DefaultSubnet, out subnet, out var subnetError))
        {
            errors.Add(args.Subnet is null && entry?.Network?.Subnet is not null ? $"{args.ConfigFile}: error: node `{nodeName}`: network.subnet: {subnetError}" : $"--subnet: {subnetError}");
        }
        if (errors.Count > 0)
        {
            return null;
        }

        return new DaemonOptions
        {
            Node = nodeName,
            Address = args.Address ?? entry?.Address ?? "127.0.0.1",
            Ports = ports,
            DataDir = args.DataDir ?? entry?.DataDir ?? NodeSpec.DefaultDataDir,
            Roles = entry?.Roles ?? new HashSet<NodeRole> { NodeRole.ControlPlane, NodeRole.Worker },
            Labels = entry?.Labels ?? new Dictionary<string, string>(),
            SeedNodes = cluster is null
                ? []
                : cluster.Nodes
                    .Where(n => n.Roles.Contains(NodeRole.ControlPlane))
                    .Select(n => n.Name == nodeName ? $"{args.Address ?? n.Address}:{ports.Cluster}" : $"{n.Address}:{n.Ports.Cluster}")
                    .ToList(),
            Persistence = cluster?.Persistence ?? new PersistenceSpec(),
            Registry = cluster?.Registry ?? new RegistrySettings(),
            Rebalance = cluster?.Rebalance ?? new RebalanceSettings(),
            Autoscaler = cluster?.Autoscaler ?? new AutoscalerSettings(),
            Driver = args.Driver,
            LogFormat = args.LogFormat,
            Bridge = bridge,
            Subnet = subnet,
            ClusterNodes = cluster is null
                ? []
                : cluster.Nodes
                    .Select(n => n.Name == nodeName ? n with { Address = args.Address ?? n.Address, Ports = ports } : n)
                    .ToList(),
        };
    }
}
