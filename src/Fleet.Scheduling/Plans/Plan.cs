using System.Globalization;
using System.Text;
using Fleet.Core.Ids;

namespace Fleet.Scheduling.Plans;

/// <summary>PlanAction is one step the controller carries out; every action says why.</summary>
public abstract record PlanAction(ReplicaId Replica, string Reason);

/// <summary>
/// Place starts a new replica of <see cref="Service"/> at <see cref="Generation"/> on
/// <see cref="Node"/>. <see cref="Replaces"/> names the lost or failed replica it stands in for;
/// the controller marks that one Superseded.
/// </summary>
public sealed record Place(ReplicaId Replica, ServiceName Service, NodeName Node, long Generation, string Reason,
    ReplicaId? Replaces = null) : PlanAction(Replica, Reason)
{
    public override string ToString() => $"place {Replica} on {Node} (generation {Generation.ToString(CultureInfo.InvariantCulture)}): {Reason}";
}

/// <summary>Stop stops and removes a replica from <see cref="Node"/>.</summary>
public sealed record Stop(ReplicaId Replica, NodeName Node, string Reason) : PlanAction(Replica, Reason)
{
    public override string ToString() => $"stop {Replica} on {Node}: {Reason}";
}

/// <summary>
/// Migrate moves a replica, keeping its id: make-before-break for a stateless one (start on
/// <see cref="To"/>, wait healthy, switch, stop on <see cref="From"/>), freeze-and-copy for a
/// stateful one. The Migrator drives it; the scheduler only chooses.
/// </summary>
public sealed record Migrate(ReplicaId Replica, NodeName From, NodeName To, string Reason) : PlanAction(Replica, Reason)
{
    public override string ToString() => $"migrate {Replica} {From} → {To}: {Reason}";
}

/// <summary>NodeRejection is why one node cannot take a replica: "node2: memory needs 512Mi, 200Mi free".</summary>
public sealed record NodeRejection(NodeName Node, string Reason)
{
    public override string ToString() => $"{Node}: {Reason}";
}

/// <summary>
/// Unschedulable is work no node could take: <see cref="Count"/> replicas of a service (or the
/// move of <see cref="Replica"/>), with every node's reason.
/// </summary>
public sealed record Unschedulable(ServiceName Service, int Count, IReadOnlyList<NodeRejection> Reasons, ReplicaId? Replica = null)
{
    public override string ToString()
    {
        var what = Replica is { } r ? $"cannot move {r}" : $"{Service}: {Count.ToString(CultureInfo.InvariantCulture)} replica(s) unschedulable";
        return Reasons.Count == 0 ? $"{what}: no nodes" : $"{what}: {string.Join("; ", Reasons)}";
    }

    /// <summary>
    /// Summarize groups nodes that share a reason, for clusters too large to list node by node:
    /// "node3, node4, node5 (+97 more): cordoned". At most <paramref name="maxLines"/> lines, most common first.
    /// </summary>
    public IReadOnlyList<string> Summarize(int maxLines = 10, int namesPerLine = 3)
    {
        var groups = Reasons
            .GroupBy(r => r.Reason, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        var lines = groups.Take(maxLines).Select(g =>
        {
            var names = string.Join(", ", g.Take(namesPerLine).Select(r => r.Node.ToString()));
            var more = g.Count() > namesPerLine ? $" (+{(g.Count() - namesPerLine).ToString(CultureInfo.InvariantCulture)} more)" : "";
            return $"{names}{more}: {g.Key}";
        }).ToList();
        if (groups.Count > maxLines)
        {
            var rest = groups.Skip(maxLines).Sum(g => g.Count());
            lines.Add($"… {rest.ToString(CultureInfo.InvariantCulture)} more node(s) with other reasons");
        }
        return lines;
    }
}

/// <summary>Deferred is work the scheduler deliberately does not do yet, and why; <see cref="Replica"/> is null for cluster-wide limits.</summary>
public sealed record Deferred(ReplicaId? Replica, string Reason)
{
    public override string ToString() => Replica is { } r ? $"{r}: {Reason}" : Reason;
}

/// <summary>
/// Plan is what one evaluation decided: ordered actions (stops first, then places, then
/// migrations; carry out a node's stops before its places, since their resources were counted
/// as free), work that could not be placed, and work deliberately deferred.
/// </summary>
public sealed record Plan
{
    public DateTimeOffset CreatedAt { get; init; }

    public IReadOnlyList<PlanAction> Actions { get; init; } = [];

    public IReadOnlyList<Unschedulable> Unschedulable { get; init; } = [];

    public IReadOnlyList<Deferred> Deferred { get; init; } = [];

    public IEnumerable<Place> Places => Actions.OfType<Place>();

    public IEnumerable<Stop> Stops => Actions.OfType<Stop>();

    public IEnumerable<Migrate> Migrations => Actions.OfType<Migrate>();

    /// <summary>IsEmpty is true when there is nothing to do (unschedulable and deferred work aside).</summary>
    public bool IsEmpty => Actions.Count == 0;

    /// <summary>Describe prints the plan one line per item, as `fleetctl rebalance --dry-run` shows it.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        foreach (var action in Actions)
        {
            text.Append(action).Append('\n');
        }
        foreach (var item in Unschedulable)
        {
            text.Append(item).Append('\n');
        }
        foreach (var item in Deferred)
        {
            text.Append("deferred ").Append(item).Append('\n');
        }
        return text.Length == 0 ? "nothing to do\n" : text.ToString();
    }
}
