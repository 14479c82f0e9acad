using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>
/// IClusterEvent is any fact of the desired state the journal holds: a service event or a node
/// event. <see cref="DesiredState.History"/> and `fleetctl events` list both, by time.
/// </summary>
public interface IClusterEvent
{
    /// <summary>At is when the command that caused it was received.</summary>
    DateTimeOffset At { get; }
}

/// <summary>INodeEvent is a fact about one node's declared scheduling.</summary>
public interface INodeEvent : IClusterEvent
{
    /// <summary>Node is the node the event is about.</summary>
    NodeName Node { get; }
}

/// <summary>NodeEvents are the persisted events of nodes' declared scheduling.</summary>
public static class NodeEvents
{
    /// <summary>NodeCordoned records that the node takes no new replicas.</summary>
    public sealed record NodeCordoned(NodeName Node, DateTimeOffset At) : INodeEvent;

    /// <summary>NodeUncordoned records that the node takes new replicas again (a drain, if any, ended).</summary>
    public sealed record NodeUncordoned(NodeName Node, DateTimeOffset At) : INodeEvent;

    /// <summary>NodeDrainStarted records that the node is cordoned and its replicas are to be moved elsewhere.</summary>
    public sealed record NodeDrainStarted(NodeName Node, DateTimeOffset At) : INodeEvent;

    /// <summary>Describe is the one-line text of a node event, as `fleetctl events` prints it.</summary>
    public static string Describe(INodeEvent e) => e switch
    {
        NodeCordoned c => $"node {c.Node} cordoned: no new replicas are placed there",
        NodeUncordoned u => $"node {u.Node} uncordoned: it takes new replicas again",
        NodeDrainStarted d => $"node {d.Node} draining: its replicas move to other nodes",
        _ => $"node {e.Node}: {e.GetType().Name}",
    };

    /// <summary>Kind is the short name of a node event, stable for scripts (`cordoned`, `uncordoned`, `drain-started`).</summary>
    public static string Kind(INodeEvent e) => e switch
    {
        NodeCordoned => "cordoned",
        NodeUncordoned => "uncordoned",
        NodeDrainStarted => "drain-started",
        _ => "unknown",
    };
}

/// <summary>ClusterEvents describes any journaled event, service or node, for `fleetctl events`.</summary>
public static class ClusterEvents
{
    /// <summary>Describe is the one-line text of an event.</summary>
    public static string Describe(IClusterEvent e) => e switch
    {
        IServiceEvent service => ServiceEvents.Describe(service),
        INodeEvent node => NodeEvents.Describe(node),
        IMigrationEvent migration => MigrationEvents.Describe(migration),
        _ => e?.GetType().Name ?? "",
    };

    /// <summary>Kind is the short, stable name of an event.</summary>
    public static string Kind(IClusterEvent e) => e switch
    {
        IServiceEvent service => ServiceEvents.Kind(service),
        INodeEvent node => NodeEvents.Kind(node),
        IMigrationEvent migration => MigrationEvents.Kind(migration),
        _ => "unknown",
    };
}
