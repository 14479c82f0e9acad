using Fleet.Core.Ids;

namespace Fleet.Scheduling.Rebalancing;

/// <summary>
/// RebalanceTrigger decides when a rebalance is due, with a settle delay: a node that becomes
/// eligible (joined, came back from unreachable, was uncordoned) makes a rebalance due
/// <c>settleDelay</c> later, and any further newcomer restarts that delay — so a node that flaps
/// never gets replicas moved to it until it has stayed up for the whole delay. It is immutable:
/// every call returns the next trigger. The controller calls <see cref="Observe"/> on every
/// evaluation with the nodes eligible now, rebalances while <see cref="IsDue"/>, and calls
/// <see cref="Completed"/> once a rebalance planned nothing and has no move left in flight.
/// </summary>
public sealed record RebalanceTrigger
{
    /// <summary>Initial is a trigger that has seen no node yet; its first observation is the baseline, not a join.</summary>
    public static readonly RebalanceTrigger Initial = new();

    /// <summary>Eligible are the nodes eligible at the last observation.</summary>
    public IReadOnlySet<NodeName> Eligible { get; init; } = new HashSet<NodeName>();

    /// <summary>Observed is false until the first observation (the controller's first picture of the cluster).</summary>
    public bool Observed { get; init; }

    /// <summary>DueAt is when the pending rebalance may run; null when none is pending.</summary>
    public DateTimeOffset? DueAt { get; init; }

    /// <summary>Reason says what made the rebalance due ("node node3 joined"), for the log and the events.</summary>
    public string Reason { get; init; } = "";

    /// <summary>
    /// Observe records the nodes eligible at <paramref name="now"/>. Newcomers since the last
    /// observation (none on the first) make a rebalance due at now + <paramref name="settleDelay"/>,
    /// replacing an earlier due time; nodes that left change nothing (the planner never moves
    /// replicas to a node that is not ready).
    /// </summary>
    public RebalanceTrigger Observe(IEnumerable<NodeName> eligible, DateTimeOffset now, TimeSpan settleDelay)
    {
        ArgumentNullException.ThrowIfNull(eligible);
        var current = eligible.ToHashSet();
        if (!Observed)
        {
            return this with { Eligible = current, Observed = true };
        }
        var newcomers = current.Where(n => !Eligible.Contains(n)).Select(n => n.Value).Order(StringComparer.Ordinal).ToList();
        if (newcomers.Count == 0)
        {
            return current.SetEquals(Eligible) ? this : this with { Eligible = current };
        }
        var reason = newcomers.Count == 1 ? $"node {newcomers[0]} joined" : $"nodes {string.Join(", ", newcomers)} joined";
        return this with { Eligible = current, DueAt = now + settleDelay, Reason = reason };
    }

    /// <summary>Requested makes a rebalance due at once (`fleetctl rebalance`), with no settle delay.</summary>
    public RebalanceTrigger Requested(DateTimeOffset now, string reason) => this with { DueAt = now, Reason = reason };

    /// <summary>IsDue says whether a rebalance should run at <paramref name="now"/>.</summary>
    public bool IsDue(DateTimeOffset now) => DueAt is { } due && now >= due;

    /// <summary>Completed ends the pending rebalance (nothing left to move).</summary>
    public RebalanceTrigger Completed() => this with { DueAt = null, Reason = "" };
}
