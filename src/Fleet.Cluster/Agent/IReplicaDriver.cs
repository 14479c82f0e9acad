using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Agent;

/// <summary>
/// IReplicaObserver receives what a driver notices on its own: a replica that changed phase or
/// health (started, became healthy, exited, was restarted) or disappeared. Called from any
/// thread; implementations must only enqueue.
/// </summary>
public interface IReplicaObserver
{
    void Changed(ReplicaStatus status);

    void Removed(ReplicaId id);
}

/// <summary>
/// IReplicaDriver is everything the node agent needs from a node's containers. The container
/// runtime (image pull, snapshot, config.json, shim, health checks, restart policy) implements
/// it; the agent stays an actor that only tracks and reports. Contract:
/// <list type="bullet">
/// <item><see cref="AdoptAsync"/> lists replicas already on the node (left running by an earlier
/// fleetd) without restarting them — same ids, same restart counts.</item>
/// <item><see cref="StartAsync"/> returns once the replica is accepted; progress (Pulling,
/// Starting, Running, Healthy, Failed with the reason) comes through the observer. It is
/// idempotent for a replica id it already holds.</item>
/// <item><see cref="StopAsync"/> stops and removes a replica, then reports it Removed; stopping an
/// unknown id succeeds.</item>
/// </list>
/// </summary>
public interface IReplicaDriver
{
    /// <summary>Name says which driver this is, for logs and `get nodes -o wide`.</summary>
    string Name { get; }

    Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken);

    Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken);

    Task StopAsync(ReplicaId id, CancellationToken cancellationToken);

    /// <summary>Subscribe registers the one observer (the agent); disposing the result unregisters it.</summary>
    IDisposable Subscribe(IReplicaObserver observer);
}
