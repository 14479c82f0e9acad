using System.Collections.Concurrent;
using Fleet.Cluster.Agent;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.Control;

/// <summary>
/// GatedReplicaDriver holds every started replica at Starting until the test lets it turn
/// Healthy, so a test decides when a rollout may advance. It remembers the most replicas it ever
/// held at once (the surge a rollout really used) and every id it was asked to start.
/// </summary>
internal sealed class GatedReplicaDriver(NodeName node) : IReplicaDriver
{
    private readonly ConcurrentDictionary<ReplicaId, ReplicaStatus> _replicas = new();
    private readonly ConcurrentQueue<ReplicaId> _started = new();
    private readonly Lock _gate = new();
    private IReplicaObserver? _observer;
    private int _mostAtOnce;

    public string Name => "gated";

    public IReadOnlyCollection<ReplicaStatus> Replicas => _replicas.Values.ToList();

    public IReadOnlyCollection<ReplicaId> Started => _started.ToList();

    public int MostAtOnce
    {
        get
        {
            lock (_gate)
            {
                return _mostAtOnce;
            }
        }
    }

    /// <summary>Release makes every Starting replica Healthy and returns how many it released.</summary>
    public int Release()
    {
        var released = 0;
        foreach (var status in _replicas.Values.Where(r => r.Phase == ReplicaPhase.Starting))
        {
            var healthy = status with { Phase = ReplicaPhase.Healthy, Health = ReplicaHealth.Healthy, StartedAt = DateTimeOffset.UtcNow };
            _replicas[status.Id] = healthy;
            _observer?.Changed(healthy);
            released++;
        }
        return released;
    }

    public Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ReplicaStatus>>([]);

    public Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var status = new ReplicaStatus(request.Id, node, request.Generation, ReplicaPhase.Starting, ReplicaHealth.Unknown, null, null, 0, null);
        lock (_gate)
        {
            if (!_replicas.TryAdd(request.Id, status))
            {
                return Task.CompletedTask;
            }
            _started.Enqueue(request.Id);
            _mostAtOnce = Math.Max(_mostAtOnce, _replicas.Count);
        }
        _observer?.Changed(status);
        return Task.CompletedTask;
    }

    public Task StopAsync(ReplicaId id, CancellationToken cancellationToken)
    {
        bool removed;
        lock (_gate)
        {
            removed = _replicas.TryRemove(id, out _);
        }
        if (removed)
        {
            _observer?.Removed(id);
        }
        return Task.CompletedTask;
    }

    public IDisposable Subscribe(IReplicaObserver observer)
    {
        _observer = observer;
        return new Unsubscriber(() => _observer = null);
    }

    private sealed class Unsubscriber(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
