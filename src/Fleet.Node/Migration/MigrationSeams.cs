using System.Collections.Concurrent;
using Fleet.Core.Ids;

namespace Fleet.Node.Migration;

/// <summary>
/// IMigrationTransport is how a target node reaches the source node of a stateful migration
/// (fleetd: the source's API port, <c>MigrationManifest</c>/<c>MigrationPull</c>/… rpcs). Every
/// call names the migration, so a source answers only for the migration it froze for.
/// </summary>
public interface IMigrationTransport
{
    /// <summary>ManifestAsync lists the source replica's writable layer and volumes.</summary>
    Task<IReadOnlyList<MigrationEntry>> ManifestAsync(NodeName source, ReplicaId replica, string migration, CancellationToken cancellationToken);

    /// <summary>
    /// PullAsync writes the bytes of one file from <paramref name="offset"/> on to
    /// <paramref name="destination"/> and returns the sha256 (hex) of the whole file as the
    /// source read it.
    /// </summary>
    Task<string> PullAsync(NodeName source, ReplicaId replica, string migration, string root, string path, long offset, Stream destination, CancellationToken cancellationToken);

    /// <summary>FreezeAsync freezes the source replica; it thaws by itself after <paramref name="lease"/> unless fenced.</summary>
    Task FreezeAsync(NodeName source, ReplicaId replica, string migration, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>FenceAsync makes the source never resume; it fails when the lease ran out (the source thawed).</summary>
    Task FenceAsync(NodeName source, ReplicaId replica, string migration, CancellationToken cancellationToken);

    /// <summary>ThawAsync thaws the source (lifting the fence when <paramref name="unfence"/>: the target never started).</summary>
    Task ThawAsync(NodeName source, ReplicaId replica, string migration, bool unfence, CancellationToken cancellationToken);
}

/// <summary>
/// IMigrationSource is the source side of a stateful migration, served by the node that runs
/// the replica (the container driver).
/// </summary>
public interface IMigrationSource
{
    /// <summary>Manifest lists the replica's writable layer and volumes; it throws <see cref="MigrationException"/> for a replica not here.</summary>
    IReadOnlyList<MigrationEntry> Manifest(ReplicaId replica);

    /// <summary>OpenRead opens one file of the replica's writable layer or volumes for reading.</summary>
    Stream OpenRead(ReplicaId replica, string root, string path);

    /// <summary>FreezeAsync freezes the replica's processes (cgroup freezer) for <paramref name="migration"/>, for at most <paramref name="lease"/> unless fenced.</summary>
    Task FreezeAsync(ReplicaId replica, string migration, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Fence makes a replica frozen for <paramref name="migration"/> never resume (recorded on disk).</summary>
    void Fence(ReplicaId replica, string migration);

    /// <summary>ThawAsync thaws a replica frozen for <paramref name="migration"/> unless fenced (or <paramref name="unfence"/>).</summary>
    Task ThawAsync(ReplicaId replica, string migration, bool unfence, CancellationToken cancellationToken);
}

/// <summary>MigrationException is a migration step refused or failed, with a message for people.</summary>
public sealed class MigrationException : Exception
{
    public MigrationException()
    {
    }

    public MigrationException(string message)
        : base(message)
    {
    }

    public MigrationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// MigrationSources finds the migration source of a node by its data directory: the driver is
/// made by the agent's hosting, the rpcs that serve it by the API, and the data directory is what
/// both know (one process may host several nodes in tests).
/// </summary>
public static class MigrationSources
{
    private static readonly ConcurrentDictionary<string, IMigrationSource> Sources = new(StringComparer.Ordinal);

    /// <summary>Register makes <paramref name="source"/> the source of the node at <paramref name="paths"/>.</summary>
    public static void Register(NodePaths paths, IMigrationSource source)
    {
        ArgumentNullException.ThrowIfNull(paths);
        Sources[paths.DataDir] = source;
    }

    /// <summary>Find returns the source of the node at <paramref name="paths"/>, or null.</summary>
    public static IMigrationSource? Find(NodePaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return Sources.GetValueOrDefault(paths.DataDir);
    }
}
