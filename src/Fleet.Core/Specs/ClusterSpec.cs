using Fleet.Core.Ids;

namespace Fleet.Core.Specs;

/// <summary>
/// ClusterSpec is the whole cluster in one file (<c>kind: Cluster</c>, usually cluster.yaml):
/// its nodes, where the control plane keeps its journal, and registry settings. Every fleetd
/// reads the same file and takes its own entry with <c>--node NAME</c>.
/// </summary>
public sealed record ClusterSpec
{
    /// <summary>Kind is the value of `kind:` for a cluster document.</summary>
    public const string Kind = "Cluster";

    public required string Name { get; init; }

    public required IReadOnlyList<NodeSpec> Nodes { get; init; }

    public PersistenceSpec Persistence { get; init; } = new();

    public RegistrySettings Registry { get; init; } = new();

    /// <summary>Rebalance says how replicas are evened out when a node joins or is uncordoned.</summary>
    public RebalanceSettings Rebalance { get; init; } = new();
    /// <summary>Autoscaler is how often the autoscaler evaluates and samples (`autoscaler:`); the defaults when absent.</summary>
    public AutoscalerSettings Autoscaler { get; init; } = new();

    /// <summary>FindNode returns the entry of <paramref name="name"/>, or null.</summary>
    public NodeSpec? FindNode(NodeName name) => Nodes.FirstOrDefault(n => n.Name == name);
}

/// <summary>NodeRole says what a node does: run the control plane, run replicas, or both.</summary>
public enum NodeRole
{
    ControlPlane,
    Worker,
}

/// <summary>NodePorts are the TCP ports a node's fleetd listens on.</summary>
public sealed record NodePorts
{
    public const int DefaultApi = 4050;
    public const int DefaultHttp = 4051;
    public const int DefaultCluster = 4053;

    /// <summary>Api serves gRPC for fleetctl.</summary>
    public int Api { get; init; } = DefaultApi;

    /// <summary>Http serves /metrics, /healthz and the registry under /v2/.</summary>
    public int Http { get; init; } = DefaultHttp;

    /// <summary>Cluster is Akka remoting between nodes.</summary>
    public int Cluster { get; init; } = DefaultCluster;
}

/// <summary>NodeSpec is one machine of the cluster.</summary>
public sealed record NodeSpec
{
    /// <summary>DefaultDataDir is the parent of a node's data dir when none is given.</summary>
    public const string DefaultDataDir = "/var/lib/fleet";

    public required NodeName Name { get; init; }

    /// <summary>Address is the IP address or host name other nodes and fleetctl reach it at.</summary>
    public required string Address { get; init; }

    public NodePorts Ports { get; init; } = new();

    public IReadOnlySet<NodeRole> Roles { get; init; } = new HashSet<NodeRole> { NodeRole.ControlPlane, NodeRole.Worker };

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    public string DataDir { get; init; } = DefaultDataDir;

    /// <summary>Network is the node's replica bridge and subnet; null keeps fleetd's default (or its flags).</summary>
    public NodeNetworkSpec? Network { get; init; }
}

/// <summary>
/// NodeNetworkSpec is the bridge a node's replicas attach to and the subnet they get addresses
/// from. Nodes on one machine need their own of both; subnets never overlap across the cluster,
/// so a replica address names one replica.
/// </summary>
public sealed record NodeNetworkSpec
{
    /// <summary>MaxBridgeLength is Linux's limit on an interface name (IFNAMSIZ - 1).</summary>
    public const int MaxBridgeLength = 15;

    /// <summary>Bridge is the Linux bridge name; null keeps the default.</summary>
    public string? Bridge { get; init; }

    /// <summary>Subnet is an IPv4 network in CIDR form (a.b.c.d/n, host bits zero); null keeps the default.</summary>
    public string? Subnet { get; init; }
}

/// <summary>PersistenceProvider is where the controller's event journal lives.</summary>
public enum PersistenceProvider
{
    /// <summary>Sqlite is an embedded file in the control-plane node's data dir (the default).</summary>
    Sqlite,

    /// <summary>Postgres is a shared database, needed for a control plane that survives a node loss.</summary>
    Postgres,
}

/// <summary>PersistenceSpec selects the journal's store.</summary>
public sealed record PersistenceSpec
{
    public PersistenceProvider Provider { get; init; } = PersistenceProvider.Sqlite;

    /// <summary>ConnectionString is required for Postgres and not used for Sqlite.</summary>
    public string? ConnectionString { get; init; }
}

/// <summary>
/// RegistrySettings say which registries may be reached over plain HTTP. Loopback registries
/// (127.0.0.0/8, ::1, localhost) are allowed by default, as Docker does.
/// </summary>
public sealed record RegistrySettings
{
    /// <summary>Insecure lists host[:port] entries allowed over plain HTTP.</summary>
    public IReadOnlyList<string> Insecure { get; init; } = [];

    public bool AllowLoopbackInsecure { get; init; } = true;
}
