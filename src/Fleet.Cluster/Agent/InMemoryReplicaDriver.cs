using System.Collections.Concurrent;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Agent;

/// <summary>
/// InMemoryReplicaDriver pretends to run replicas: a started replica is Running at once
/// (Healthy when its service declares a health check). No process, no network, no image. It
/// exists for tests of the control plane and for `fleetd --driver memory`; nothing it reports
/// is a real container.
/// </summary>
public sealed class InMemoryReplicaDriver(NodeName node, TimeProvider? clock = null) : IReplicaDriver
{
    private readonly ConcurrentDictionary<ReplicaId, ReplicaStatus> _replicas = new();
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private IReplicaObserver? _observer;
    private int _starts;

    public string Name => "memory";

    /// <summary>FailStartsWith, when set, makes every start fail with that reason (e.g. a pull error).</summary>
    public string? FailStartsWith { get; set; }

    /// <summary>Starts counts the starts asked of the driver, failed ones included.</summary>
    public int Starts => Volatile.Read(ref _starts);

    /// <summary>Replicas are what the driver holds now.</summary>
    public IReadOnlyCollection<ReplicaStatus> Replicas => _replicas.Values.ToList();

    /// <summary>Preload adds a replica as if an earlier fleetd had left it running (for adoption tests).</summary>
    public void Preload(ReplicaStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        _replicas[status.Id] = status with { Node = node };
    }

    /// <summary>Crash makes a replica exit and be restarted, as a restart policy would.</summary>
    public void Crash(ReplicaId id)
    {
        if (_replicas.TryGetValue(id, out var status))
        {
            var restarted = status with { Restarts = status.Restarts + 1, StartedAt = _clock.GetUtcNow() };
            _replicas[id] = restarted;
            _observer?.Changed(restarted);
        }
    }

    public Task<IReadOnlyList<ReplicaStatus>> AdoptAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<ReplicaStatus>>(_replicas.Values.ToList());

    public Task StartAsync(AgentProtocol.StartReplica request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Interlocked.Increment(ref _starts);
        if (_replicas.ContainsKey(request.Id))
        {
            return Task.CompletedTask;
        }
        var healthy = request.Spec.Health is not null;
        var status = FailStartsWith is { } reason
            ? new ReplicaStatus(request.Id, node, request.Generation, ReplicaPhase.Failed, ReplicaHealth.Unknown, null, null, 0, reason)
            : new ReplicaStatus(
                request.Id, node, request.Generation,
                healthy ? ReplicaPhase.Healthy : ReplicaPhase.Running,
                healthy ? ReplicaHealth.Healthy : ReplicaHealth.None,
                null, _clock.GetUtcNow(), 0, null);
        _replicas[request.Id] = status;
        _observer?.Changed(status);
        return Task.CompletedTask;
    }

    public Task StopAsync(ReplicaId id, CancellationToken cancellationToken)
    {
        if (_replicas.TryRemove(id, out _))
        {
            _observer?.Removed(id);
        }
        return Task.CompletedTask;
    }

    public IDisposable Subscribe(IReplicaObserver observer)
    {
        _observer = observer;
        return new Unsubscriber(this, observer);
    }

    private sealed class Unsubscriber(InMemoryReplicaDriver driver, IReplicaObserver observer) : IDisposable
    {
        public void Dispose()
        {
            if (ReferenceEquals(driver._observer, observer))
            {
                driver._observer = null;
            }
        }
    }
}
