using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Agent;

/// <summary>
/// UnavailableReplicaDriver is what a node runs when no container runtime is wired into this
/// build: every start is reported Failed with a reason that says so, so `describe` tells the
/// truth instead of showing replicas that never run.
/// </summary>
public sealed class UnavailableReplicaDriver(NodeName node) : IReplicaDriver
{
    /// <summary>Reason is the text of every failed start.</summary>
    public const string Reason = "no container runtime in this fleetd build (start fleetd with --driver memory to exercise the control plane without containers)";

    private IReplicaObserver? _observer;

    public string Name => "none";

    public Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ReplicaStatus>>([]);

    public Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        _observer?.Changed(new ReplicaStatus(request.Id, node, request.Generation, ReplicaPhase.Failed, ReplicaHealth.Unknown, null, null, 0, Reason));
        return Task.CompletedTask;
    }

    public Task StopAsync(ReplicaId id, CancellationToken cancellationToken)
    {
        _observer?.Removed(id);
        return Task.CompletedTask;
    }

    public IDisposable Subscribe(IReplicaObserver observer)
    {
        _observer = observer;
        return new Unsubscribe(() => _observer = null);
    }

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
