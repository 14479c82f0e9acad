using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>
/// NodeScheduling is what the operator declared about a node's scheduling (`fleetctl cordon`,
/// `drain`, `uncordon`). It is desired state, journaled, so it survives a controller restart or
/// fail-over; whether the node is reachable is observed state and kept apart.
/// </summary>
public enum NodeScheduling
{
    /// <summary>Schedulable takes new replicas (the default of every node).</summary>
    Schedulable,

    /// <summary>Cordoned keeps its replicas and takes no new ones.</summary>
    Cordoned,

    /// <summary>Draining takes no new replicas and has its replicas moved to other nodes.</summary>
    Draining,
}

/// <summary>INodeCommand is a request about one node's scheduling; <see cref="DesiredState.DecideNode"/> judges it.</summary>
public interface INodeCommand
{
    /// <summary>Node is the node the command is about.</summary>
    NodeName Node { get; }

    /// <summary>At is when the command was received; the events it produces carry it.</summary>
    DateTimeOffset At { get; }
}

/// <summary>NodeCommands are the commands on the declared scheduling of nodes.</summary>
public static class NodeCommands
{
    /// <summary>Cordon keeps new replicas off the node; the ones on it stay.</summary>
    public sealed record Cordon(NodeName Node, DateTimeOffset At) : INodeCommand;

    /// <summary>Uncordon lets the node take new replicas again; it ends a drain too.</summary>
    public sealed record Uncordon(NodeName Node, DateTimeOffset At) : INodeCommand;

    /// <summary>Drain cordons the node and moves every replica on it elsewhere (make-before-break for stateless ones).</summary>
    public sealed record Drain(NodeName Node, DateTimeOffset At) : INodeCommand;
}

/// <summary>
/// NodeCommandResult is the answer to a node command: an outcome (Updated, Unchanged, NotFound),
/// the node's declared scheduling after it, and a message for people.
/// </summary>
public sealed record NodeCommandResult(CommandOutcome Outcome, NodeName Node, NodeScheduling Scheduling, string Message)
{
    /// <summary>Succeeded is true for Updated and Unchanged.</summary>
    public bool Succeeded => Outcome is CommandOutcome.Updated or CommandOutcome.Unchanged;
}
