using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Agent;

/// <summary>
/// IMigratingDriver is what a driver that can carry a stateful migration adds to
/// <see cref="IReplicaDriver"/>: the target side is a start with
/// <see cref="AgentProtocol.StartReplica.MigrateFrom"/> (progress through
/// <see cref="IMigrationObserver"/>); the source side answers a rollback with
/// <see cref="ThawAsync"/>, which thaws a replica frozen for that migration unless it was fenced.
/// </summary>
public interface IMigratingDriver
{
    /// <summary>ThawAsync thaws <paramref name="replica"/> if it is frozen for <paramref name="migration"/> and not fenced; otherwise does nothing.</summary>
    Task ThawAsync(ReplicaId replica, string migration, CancellationToken cancellationToken);
}

/// <summary>IMigrationObserver is told of a target's migration progress; the agent's observer implements it. Only enqueue.</summary>
public interface IMigrationObserver
{
    void MigrationProgressed(MigrationProtocol.MigrationProgress progress);
}
