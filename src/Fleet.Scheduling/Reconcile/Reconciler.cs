using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;

namespace Fleet.Scheduling.Reconcile;

/// <summary>PlaceRequest is one replica to place, why, and the replica it stands in for.</summary>
internal sealed record PlaceRequest(string Reason, ReplicaId? Replaces);

/// <summary>StopRequest is a replica to stop and why.</summary>
internal sealed record StopRequest(ObservedReplica Replica, string Reason);

/// <summary>ReconcileResult is what one service needs; feasibility and ranking choose the nodes.</summary>
internal sealed class ReconcileResult
{
    public List<StopRequest> Stops { get; } = [];

    public List<PlaceRequest> Places { get; } = [];

    /// <summary>Moves are replicas to migrate off a draining node, surge-first.</summary>
    public List<StopRequest> Moves { get; } = [];

    public List<Deferred> Deferred { get; } = [];

    /// <summary>Staying are the live replicas this plan does not stop (they count for spreading).</summary>
    public List<ObservedReplica> Staying { get; } = [];
}

/// <summary>
/// Reconciler compares one service's desired state with its observed replicas: what is
/// missing, surplus, lost, failed, on a draining node, or of an older generation (a rolling
/// update bounded by maxSurge/maxUnavailable and gated on health).
/// </summary>
internal static class Reconciler
{
    /// <summary>Reconcile is pure; <paramref name="statusOf"/> returns null for a node that no longer exists (treated as down).
    /// <paramref name="restartsOnNode"/>: see <see cref="SchedulerOptions.RestartsOnNode"/>.</summary>
    public static ReconcileResult Reconcile(DesiredService desired, IReadOnlyList<ObservedReplica> replicas, Func<NodeName, NodeStatus?> statusOf,
        bool restartsOnNode = false)
    {
        var spec = desired.Spec;
        var target = Math.Max(0, spec.Replicas);
        var generation = desired.Generation;
        var (surge, unavailable) = Budget(spec);
        var result = new ReconcileResult();
        var replaces = new Queue<PlaceRequest>();
        var live = new List<ObservedReplica>();
        var held = 0;
        var completed = 0;

        // 1. Classify every replica: gone (replace), held (stateful, node unreachable), done, or live.
        foreach (var replica in replicas)
        {
            var status = statusOf(replica.Node) ?? NodeStatus.Down;
            var node = replica.Node;
            var reachable = status is NodeStatus.Ready or NodeStatus.Cordoned or NodeStatus.Draining;
            if (replica.Superseded)
            {
                if (status != NodeStatus.Unreachable)
                {
                    var why = reachable ? $"came back on {node} after it was replaced" : $"{node} is down; already replaced";
                    result.Stops.Add(new StopRequest(replica, why));
                }
                continue;
            }
            if (status == NodeStatus.Down)
            {
                result.Stops.Add(new StopRequest(replica, $"lost: {node} is down"));
                replaces.Enqueue(new PlaceRequest($"replaces {replica.Id}, lost with {node} (down)", replica.Id));
                continue;
            }
            if (status == NodeStatus.Unreachable)
            {
                if (replica.Stateful)
                {
                    held++;
                    result.Deferred.Add(new Deferred(replica.Id,
                        $"stateful and {node} is unreachable: replaced only once the node is down, so it never runs twice"));
                }
                else
                {
                    // No stop: the node cannot hear it. The replica is Superseded and stopped if it comes back.
                    replaces.Enqueue(new PlaceRequest($"replaces {replica.Id} on unreachable {node}", replica.Id));
                }
                continue;
            }
            if (replica.State == ReplicaState.Lost)
            {
                result.Stops.Add(new StopRequest(replica, "lost by its agent"));
                replaces.Enqueue(new PlaceRequest($"replaces {replica.Id}, lost by its agent on {node}", replica.Id));
                continue;
            }
            if (replica.IsTerminal)
            {
                var state = replica.State.ToString().ToLowerInvariant();
                if (replica.Generation < generation)
                {
                    // Not running, so replacing it costs no availability: the new spec gets its chance.
                    result.Stops.Add(new StopRequest(replica,
                        $"rolling update: {state} replica of generation {replica.Generation.ToString(CultureInfo.InvariantCulture)} → {generation.ToString(CultureInfo.InvariantCulture)}"));
                    replaces.Enqueue(new PlaceRequest($"replaces {state} {replica.Id} of an older generation", replica.Id));
                    continue;
                }
                if (restartsOnNode || IsComplete(spec.Restart, replica.State))
                {
                    completed++;
                    continue;
                }
                result.Stops.Add(new StopRequest(replica, $"{state} (restart: {spec.Restart.ToString().ToLowerInvariant()})"));
                replaces.Enqueue(new PlaceRequest($"replaces {state} {replica.Id}", replica.Id));
                continue;
            }
            live.Add(replica);
        }

        // 2. Surplus and rolling update: stop what is over the count or of an older generation,
        //    never taking available replicas below desired − maxUnavailable.
        var isAvailable = (ObservedReplica r) => r.State == ReplicaState.Healthy || (r.State == ReplicaState.Running && spec.Health is null);
        var counts = new Dictionary<NodeName, int>();
        foreach (var replica in live)
        {
            counts[replica.Node] = counts.GetValueOrDefault(replica.Node) + 1;
        }
        var current = StopOrder(live.Where(r => r.Generation >= generation), spec, isAvailable, statusOf, counts);
        var old = StopOrder(live.Where(r => r.Generation < generation), spec, isAvailable, statusOf, counts);
        var occupied = held + completed;
        var budget = Math.Max(0, live.Count(isAvailable) - Math.Max(0, target - unavailable));
        var stopped = new HashSet<ReplicaId>();

        var currentExcess = Math.Max(0, current.Count + occupied - target);
        foreach (var replica in current.Take(currentExcess))
        {
            result.Stops.Add(new StopRequest(replica, $"surplus: {target.ToString(CultureInfo.InvariantCulture)} wanted"));
            stopped.Add(replica.Id);
            if (isAvailable(replica))
            {
                budget--;
            }
        }
        foreach (var replica in old)
        {
            if (isAvailable(replica))
            {
                if (budget <= 0)
                {
                    continue;
                }
                budget--;
            }
            result.Stops.Add(new StopRequest(replica,
                $"rolling update: generation {replica.Generation.ToString(CultureInfo.InvariantCulture)} → {generation.ToString(CultureInfo.InvariantCulture)}"));
            stopped.Add(replica.Id);
        }

        // 3. Missing: replace the lost first, then add new-generation replicas within maxSurge.
        var currentCount = current.Count - currentExcess + occupied;
        var total = live.Count - stopped.Count + occupied;
        var toPlace = Math.Max(0, Math.Min(target - currentCount, target + surge - total));
        var rolling = old.Count > 0;
        for (var i = 0; i < toPlace; i++)
        {
            result.Places.Add(replaces.Count > 0
                ? replaces.Dequeue()
                : new PlaceRequest(rolling
                    ? $"rolling update to generation {generation.ToString(CultureInfo.InvariantCulture)}"
                    : $"missing: {(currentCount + i + 1).ToString(CultureInfo.InvariantCulture)} of {target.ToString(CultureInfo.InvariantCulture)}", null));
        }

        // 4. Draining: move staying replicas off draining nodes, at most max(1, maxSurge) in flight per service.
        var inFlight = live.Count(r => r.MigratingTo is not null);
        var moveBudget = Math.Max(1, surge) - inFlight;
        foreach (var replica in live)
        {
            if (stopped.Contains(replica.Id))
            {
                continue;
            }
            result.Staying.Add(replica);
            if (replica.MigratingTo is null && statusOf(replica.Node) == NodeStatus.Draining)
            {
                if (moveBudget > 0)
                {
                    result.Moves.Add(new StopRequest(replica, $"{replica.Node} is draining"));
                    moveBudget--;
                }
                else
                {
                    result.Deferred.Add(new Deferred(replica.Id, $"{replica.Node} is draining: waiting for this service's move in flight"));
                }
            }
        }
        return result;
    }

    /// <summary>Budget returns maxSurge and maxUnavailable; stateful replicas never surge, and some progress is always allowed.</summary>
    internal static (int Surge, int Unavailable) Budget(ServiceSpec spec)
    {
        var surge = Math.Max(0, spec.Update.MaxSurge);
        var unavailable = Math.Max(0, spec.Update.MaxUnavailable);
        if (spec.Stateful)
        {
            return (0, Math.Max(1, unavailable));
        }
        return surge == 0 && unavailable == 0 ? (1, 0) : (surge, unavailable);
    }

    private static bool IsComplete(RestartPolicy policy, ReplicaState state) => policy switch
    {
        RestartPolicy.Never => true,
        RestartPolicy.OnFailure => state == ReplicaState.Exited,
        _ => false,
    };

    /// <summary>
    /// StopOrder sorts replicas so the first are the best to stop: on a cordoned or draining node,
    /// not yet available, on the node with most replicas of the service (spread) or fewest
    /// (bin-pack, to empty a node), then by id.
    /// </summary>
    private static List<ObservedReplica> StopOrder(IEnumerable<ObservedReplica> replicas, ServiceSpec spec,
        Func<ObservedReplica, bool> isAvailable, Func<NodeName, NodeStatus?> statusOf, Dictionary<NodeName, int> counts)
    {
        var spread = spec.Placement.Spread == SpreadMode.Node;
        return replicas
            .OrderBy(r => statusOf(r.Node) == NodeStatus.Ready ? 1 : 0)
            .ThenBy(r => isAvailable(r) ? 1 : 0)
            .ThenBy(r => (int)r.State)
            .ThenBy(r => spread ? -counts[r.Node] : counts[r.Node])
            .ThenBy(r => r.Id.Suffix, StringComparer.Ordinal)
            .ToList();
    }
}
