using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Scheduling.Model;

/// <summary>ReplicaState is a replica's last reported life-cycle state.</summary>
public enum ReplicaState
{
    /// <summary>Pending is planned but not yet created on its node.</summary>
    Pending,

    /// <summary>Starting is created and starting (image pull, start period).</summary>
    Starting,

    /// <summary>Running is running; without a health check it also counts as available.</summary>
    Running,

    /// <summary>Healthy is running and passing its health check.</summary>
    Healthy,

    /// <summary>Exited stopped with exit code 0.</summary>
    Exited,

    /// <summary>Failed stopped with a non-zero exit code or failed its health check for good.</summary>
    Failed,

    /// <summary>Lost is gone without a trace (its agent no longer knows it).</summary>
    Lost,
}

/// <summary>
/// ObservedReplica is one replica as its agent last reported it. Replicas of a service are
/// told apart from its desired state by <see cref="Generation"/> (the spec generation they run).
/// </summary>
public sealed record ObservedReplica
{
    public required ReplicaId Id { get; init; }

    public required NodeName Node { get; init; }

    public long Generation { get; init; } = 1;

    public ReplicaState State { get; init; } = ReplicaState.Running;

    public bool Stateful { get; init; }

    /// <summary>Resources is what the replica requested; null means "take it from the desired spec".</summary>
    public ResourceRequest? Resources { get; init; }

    /// <summary>
    /// Superseded is set by the controller once it applied a Place that replaces this replica
    /// (<see cref="Plans.Place.Replaces"/>): if the replica shows up again, it is stopped.
    /// </summary>
    public bool Superseded { get; init; }

    /// <summary>MigratingTo is the target node of a migration in flight, or null.</summary>
    public NodeName? MigratingTo { get; init; }

    /// <summary>Service is the service the replica belongs to (part of its id).</summary>
    public ServiceName Service => Id.Service;

    /// <summary>IsTerminal is true for Exited and Failed.</summary>
    public bool IsTerminal => State is ReplicaState.Exited or ReplicaState.Failed;
}
