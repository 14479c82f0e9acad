using Fleet.Core.Ids;

namespace Fleet.Node;

/// <summary>
/// NodePaths is the one place that knows where a node keeps things under its data directory.
/// Everything a node owns lives below <see cref="DataDir"/>, so two fleetd processes with two
/// data directories (tests, a 3-node cluster on one machine) never share a file.
/// <code>
/// {data}/images/             content store, snapshots, image catalog (Fleet.Images)
/// {data}/runtime/            the container runtime's state root (one dir per container)
/// {data}/replicas/{id}/      one replica: config.json, replica.json, upper/, work/, hosts, resolv.conf, hostname
/// {data}/replicas/{id}/logs/ the shim's JSON-lines log (container.log, container.log.1, …)
/// {data}/volumes/{name}/     named volumes, kept when replicas are replaced or services deleted
/// {data}/network/            address allocations
/// </code>
/// </summary>
public sealed class NodePaths
{
    public NodePaths(string dataDir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDir);
        DataDir = Path.GetFullPath(dataDir);
    }

    public string DataDir { get; }

    public string Images => Path.Combine(DataDir, "images");

    public string RuntimeRoot => Path.Combine(DataDir, "runtime");

    public string Replicas => Path.Combine(DataDir, "replicas");

    public string Volumes => Path.Combine(DataDir, "volumes");

    public string Network => Path.Combine(DataDir, "network");

    public string Replica(ReplicaId id) => Path.Combine(Replicas, id.ToString());

    public string ReplicaLogs(ReplicaId id) => Path.Combine(Replica(id), "logs");

    /// <summary>ReplicaLog is the current log file; rotated ones carry .1, .2, … (oldest last).</summary>
    public string ReplicaLog(ReplicaId id) => Path.Combine(ReplicaLogs(id), "container.log");

    public string Volume(VolumeName name) => Path.Combine(Volumes, name.Value);
}
