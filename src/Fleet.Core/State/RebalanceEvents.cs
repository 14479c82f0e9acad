using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>RebalanceEvents are the journaled facts of rebalancing (after a node joins, or on `fleetctl rebalance`).</summary>
public static class RebalanceEvents
{
    /// <summary>
    /// ReplicaRebalanced records that the controller began moving <paramref name="Replica"/> from
    /// <paramref name="From"/> to <paramref name="To"/> as <paramref name="Replacement"/> to even
    /// out the cluster, and why (<paramref name="Reason"/>: "spread: node1 has 3 of web, node3 has
    /// 0"; <paramref name="Trigger"/>: "node node3 joined"). It changes no desired state.
    /// </summary>
    public sealed record ReplicaRebalanced(
        ReplicaId Replica,
        NodeName From,
        NodeName To,
        ReplicaId Replacement,
        string Reason,
        string Trigger,
        long Generation,
        DateTimeOffset At) : IServiceEvent
    {
        public ServiceName Service => Replica.Service;
    }

    /// <summary>Describe is the event's line: "rebalance: web-7k2xq node1 → node3: spread: node1 has 3 of web, node3 has 0 (node node3 joined)".</summary>
    public static string Describe(ReplicaRebalanced e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var trigger = e.Trigger.Length == 0 ? "" : $" ({e.Trigger})";
        return $"rebalance: {e.Replica} {e.From} → {e.To}: {e.Reason}{trigger}";
    }
}
