using Fleet.Images.Oci;
using Fleet.Images.Store;

namespace Fleet.Node.Replicas;

/// <summary>
/// NodeImageCollector runs the image store's garbage collection for a node: everything the
/// catalog names, the extra roots given (the registry's repositories) and every image a replica
/// of this node uses is kept. Replicas' images come from two places, so none is missed: the
/// drivers' in-memory holds (<see cref="ContainerReplicaDriver.ImageRoots"/>, which cover a
/// replica between its image resolving and its record being written) and the replica.json
/// records on disk (which cover replicas not adopted yet after a restart of fleetd).
/// </summary>
public sealed class NodeImageCollector : IGcRoots
{
    private readonly ContentStore _store;
    private readonly NodePaths _paths;
    private readonly IReadOnlyList<IGcRoots> _extraRoots;
    private readonly Lock _gate = new();
    private readonly List<IGcRoots> _drivers = [];

    /// <summary>Creates the collector over the node's store; <paramref name="extraRoots"/> are other owners of the store (the registry).</summary>
    public NodeImageCollector(ContentStore store, NodePaths paths, IEnumerable<IGcRoots>? extraRoots = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(paths);
        _store = store;
        _paths = paths;
        _extraRoots = [.. extraRoots ?? []];
    }

    /// <summary>AddReplicaRoots adds a driver's holds (its <see cref="ContainerReplicaDriver.ImageRoots"/>).</summary>
    public void AddReplicaRoots(IGcRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        lock (_gate)
        {
            _drivers.Add(roots);
        }
    }

    /// <summary>Roots are the images of this node's replicas: held by a driver or named by a replica record.</summary>
    public IEnumerable<Descriptor> Roots()
    {
        List<IGcRoots> drivers;
        lock (_gate)
        {
            drivers = [.. _drivers];
        }
        var roots = drivers.SelectMany(d => d.Roots()).ToList();
        foreach (var record in ReplicaRecord.ReadAll(_paths))
        {
            if (record.ImageDigest is { } digest)
            {
                // The media type is not recorded: an empty one makes the collector read the blob to know it.
                roots.Add(new Descriptor { Digest = digest, MediaType = "" });
            }
        }
        return roots;
    }

    /// <summary>Collect removes what nothing refers to (blobs younger than the grace period stay).</summary>
    public GcReport Collect(GcOptions? options = null) =>
        GarbageCollector.Collect(_store, options, [this, .. _extraRoots]);
}
