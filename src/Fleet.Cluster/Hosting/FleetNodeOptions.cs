using Fleet.Cluster.Agent;
using Fleet.Cluster.Control;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Cluster.Hosting;

/// <summary>FleetNodeOptions are what one node's ActorSystem needs: who it is, where it listens, where its journal is.</summary>
public sealed record FleetNodeOptions
{
    /// <summary>SystemName is the ActorSystem name; every node of a cluster must use the same.</summary>
    public const string SystemName = "fleet";

    /// <summary>ControlPlaneRole and WorkerRole are the Akka cluster role names of <see cref="NodeRole"/>.</summary>
    public const string ControlPlaneRole = "control-plane";

    public const string WorkerRole = "worker";

    public required NodeName Node { get; init; }

    /// <summary>Address is what other nodes reach this one at (also the bind address).</summary>
    public string Address { get; init; } = "127.0.0.1";

    public int ClusterPort { get; init; } = NodePorts.DefaultCluster;

    /// <summary>SeedNodes are host:port pairs of control-plane nodes; empty means this node seeds itself.</summary>
    public IReadOnlyList<string> SeedNodes { get; init; } = [];

    public IReadOnlySet<NodeRole> Roles { get; init; } = new HashSet<NodeRole> { NodeRole.ControlPlane, NodeRole.Worker };

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>DataDir holds the SQLite journal (journal.db) of a control-plane node.</summary>
    public required string DataDir { get; init; }

    public PersistenceProvider Persistence { get; init; } = PersistenceProvider.Sqlite;

    /// <summary>PostgresConnectionString is used when <see cref="Persistence"/> is Postgres.</summary>
    public string? PostgresConnectionString { get; init; }

    public ControllerSettings Controller { get; init; } = new();

    /// <summary>
    /// AllocatableCpu is the cpu this node offers to replicas; null measures the machine
    /// (<see cref="NodeCapacity.Cpu"/>: every processor).
    /// </summary>
    public CpuQuantity? AllocatableCpu { get; init; }

    /// <summary>AllocatableMemory is the memory this node offers to replicas; null measures it (<see cref="NodeCapacity.Memory"/>).</summary>
    public ByteSize? AllocatableMemory { get; init; }

    /// <summary>ContainerSubnet is this node's replica subnet (CIDR), reported so other nodes can route to it; null without a bridge network.</summary>
    public string? ContainerSubnet { get; init; }

    public TimeSpan AgentReportInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Driver makes the replica driver of this node's agent.</summary>
    public Func<NodeName, IReplicaDriver> Driver { get; init; } = node => new UnavailableReplicaDriver(node);

    /// <summary>JournalPath is the SQLite file of the journal and snapshots.</summary>
    public string JournalPath => Path.Combine(DataDir, "journal.db");

    /// <summary>RoleNames are the Akka role names of <see cref="Roles"/>.</summary>
    public IReadOnlyList<string> RoleNames => Roles.Order().Select(r => r == NodeRole.ControlPlane ? ControlPlaneRole : WorkerRole).ToList();
}
