using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Scheduling.Feasibility;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;
using Fleet.Scheduling.Rank;

namespace Fleet.Scheduling.Rebalancing;

/// <summary>RebalanceOptions bound a rebalance: how many moves at once, what may move, and the hysteresis.</summary>
public sealed record RebalanceOptions
{
    /// <summary>MaxConcurrent caps migrations in flight across the cluster, those already running included.</summary>
    public int MaxConcurrent { get; init; } = 2;

    /// <summary>AllowStateful lets stateful replicas move (freeze-and-copy: a short pause for each).</summary>
    public bool AllowStateful { get; init; }

    /// <summary>
    /// MinCountDifference: a spread service's replica moves only when its source node holds at
    /// least this many more replicas of it than the target (2 means "only when the move strictly
    /// evens it out", so a move can never be undone by the next rebalance). Values below 2 are
    /// taken as 2: a difference of one would only swap which node holds more, and flap.
    /// </summary>
    public int MinCountDifference { get; init; } = 2;

    /// <summary>
    /// MinUtilizationGap: load moves start only when the most and least utilized ready nodes
    /// differ by more than this fraction (0.2 = 20 points), and a move never makes the target
    /// busier than the source is after it.
    /// </summary>
    public double MinUtilizationGap { get; init; } = 0.2;

    /// <summary>DryRun only plans (the harness then records without applying); the scheduler itself never applies anything.</summary>
    public bool DryRun { get; init; }

    /// <summary>From takes the options of cluster.yaml's `rebalance:` block.</summary>
    public static RebalanceOptions From(RebalanceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new RebalanceOptions
        {
            MaxConcurrent = settings.MaxConcurrent,
            AllowStateful = settings.Stateful,
            MinCountDifference = settings.Threshold,
            MinUtilizationGap = settings.LoadGap,
        };
    }
}

/// <summary>
/// Rebalancer plans migrations that even out a cluster after a node joins or is uncordoned,
/// or on `fleetctl rebalance`. Only steady services move (every replica at the current
/// generation, available, none migrating), surge-first (Migrate is make-before-break), at most
/// <see cref="RebalanceOptions.MaxConcurrent"/> at a time and max(1, maxSurge) per service per plan.
/// Phase 1 evens each spread service's replica count over the ready nodes that can take it;
/// phase 2 evens cpu/memory utilization. Each move strictly lowers imbalance, so nothing flaps.
/// </summary>
public static class Rebalancer
{
    /// <summary>Plan returns the moves (and nothing else); it is pure, so a dry run is just not applying it.</summary>
    public static Plan Plan(IReadOnlyList<DesiredService> services, IReadOnlyList<ObservedReplica> replicas,
        IReadOnlyList<NodeInfo> nodes, RebalanceOptions? options = null, SchedulerOptions? schedulerOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(nodes);
        options ??= new RebalanceOptions();
        schedulerOptions ??= new SchedulerOptions();
        var cluster = new WorkingCluster(nodes, schedulerOptions);
        var budget = options.MaxConcurrent - replicas.Count(r => r.MigratingTo is not null);
        var moves = new List<PlanAction>();
        var deferred = new List<Deferred>();
        var byService = Scheduler.GroupByService(replicas);
        var steady = new List<(DesiredService Service, List<ObservedReplica> Replicas, ServiceFit Fit, int[] Counts)>();
        foreach (var service in services.OrderBy(s => s.Name.Value, StringComparer.Ordinal))
        {
            var own = byService.GetValueOrDefault(service.Name) ?? [];
            if (own.Count == 0 || !IsSteady(service, own, cluster))
            {
                continue;
            }
            if (service.Spec.Stateful && !options.AllowStateful)
            {
                continue;
            }
            steady.Add((service, own, new ServiceFit(service.Spec, cluster), Scheduler.CountPerNode(cluster, own)));
        }
        var moved = new HashSet<ServiceName>();

        // Phase 1: even out each spread service's count, at most max(1, maxSurge) moves per service.
        foreach (var (service, own, fit, counts) in steady)
        {
            if (service.Spec.Placement.Spread != SpreadMode.Node)
            {
                continue;
            }
            var movedHere = new HashSet<ReplicaId>();
            var perService = Math.Max(1, service.Spec.Update.MaxSurge);
            for (var k = 0; k < perService && budget > 0; k++)
            {
                var source = MostLoadedReadyNode(cluster, counts);
                if (source < 0)
                {
                    break;
                }
                var target = Ranker.Pick(cluster, fit, counts, exclude: source);
                if (target < 0 || counts[source] - counts[target] < Math.Max(2, options.MinCountDifference))
                {
                    break;
                }
                var replica = own.First(r => cluster.IndexOf(r.Node) == source && !movedHere.Contains(r.Id));
                var reason = $"spread: {cluster.Slots[source].Info.Name} has {counts[source].ToString(CultureInfo.InvariantCulture)} of {service.Name}, " +
                    $"{cluster.Slots[target].Info.Name} has {counts[target].ToString(CultureInfo.InvariantCulture)}";
                Move(cluster, fit, counts, replica, source, target, reason, moves);
                movedHere.Add(replica.Id);
                moved.Add(service.Name);
                budget--;
            }
        }

        // Phase 2: even out utilization between the busiest and the idlest ready node.
        while (budget > 0)
        {
            var (busiest, idlest) = Extremes(cluster);
            if (busiest < 0 || idlest < 0 || busiest == idlest)
            {
                break;
            }
            var busy = cluster.Slots[busiest].UtilizationWith(0, 0);
            var idle = cluster.Slots[idlest].UtilizationWith(0, 0);
            if (busy - idle <= options.MinUtilizationGap)
            {
                break;
            }
            var candidate = LoadMoveCandidate(cluster, steady, moved, busiest, idlest);
            if (candidate is not { } pick)
            {
                break;
            }
            var reason = $"load: {cluster.Slots[busiest].Info.Name} at {Percent(busy)}, {cluster.Slots[idlest].Info.Name} at {Percent(idle)}";
            Move(cluster, pick.Fit, pick.Counts, pick.Replica, busiest, idlest, reason, moves);
            moved.Add(pick.Replica.Service);
            budget--;
        }

        if (budget <= 0 && moves.Count == 0)
        {
            deferred.Add(new Deferred(null, $"{options.MaxConcurrent.ToString(CultureInfo.InvariantCulture)} migrations already in flight"));
        }
        return new Plan { CreatedAt = schedulerOptions.Now, Actions = moves, Deferred = deferred };
    }

    private static bool IsSteady(DesiredService service, List<ObservedReplica> own, WorkingCluster cluster)
    {
        var spec = service.Spec;
        return own.Count == spec.Replicas && own.All(r =>
            r.Generation >= service.Generation
            && !r.Superseded
            && r.MigratingTo is null
            && (r.State == ReplicaState.Healthy || (r.State == ReplicaState.Running && spec.Health is null))
            && cluster.StatusOf(r.Node) is NodeStatus.Ready or NodeStatus.Cordoned);
    }

    private static int MostLoadedReadyNode(WorkingCluster cluster, int[] counts)
    {
        var best = -1;
        for (var i = 0; i < counts.Length; i++)
        {
            if (cluster.Slots[i].Info.Status == NodeStatus.Ready && (best < 0 || counts[i] > counts[best]))
            {
                best = i;
            }
        }
        return best;
    }

    private static (int Busiest, int Idlest) Extremes(WorkingCluster cluster)
    {
        int busiest = -1, idlest = -1;
        for (var i = 0; i < cluster.Slots.Length; i++)
        {
            if (cluster.Slots[i].Info.Status != NodeStatus.Ready)
            {
                continue;
            }
            var u = cluster.Slots[i].UtilizationWith(0, 0);
            if (busiest < 0 || u > cluster.Slots[busiest].UtilizationWith(0, 0))
            {
                busiest = i;
            }
            if (idlest < 0 || u < cluster.Slots[idlest].UtilizationWith(0, 0))
            {
                idlest = i;
            }
        }
        return (busiest, idlest);
    }

    /// <summary>
    /// LoadMoveCandidate picks the largest replica on the busiest node that fits on the idlest,
    /// leaves the idlest less utilized than the busiest afterwards, and does not unbalance its
    /// own service's spread.
    /// </summary>
    private static (ObservedReplica Replica, ServiceFit Fit, int[] Counts)? LoadMoveCandidate(WorkingCluster cluster,
        List<(DesiredService Service, List<ObservedReplica> Replicas, ServiceFit Fit, int[] Counts)> steady,
        HashSet<ServiceName> moved, int busiest, int idlest)
    {
        (ObservedReplica Replica, ServiceFit Fit, int[] Counts)? best = null;
        var bestWeight = 0.0;
        var source = cluster.Slots[busiest];
        var target = cluster.Slots[idlest];
        foreach (var (service, own, fit, counts) in steady)
        {
            if (moved.Contains(service.Name) || !fit.Fits(target, idlest) || (fit.Cpu == 0 && fit.Memory == 0))
            {
                continue;
            }
            if (service.Spec.Placement.Spread == SpreadMode.Node && counts[idlest] + 1 > counts[busiest] - 1)
            {
                continue;
            }
            var replica = own.FirstOrDefault(r => cluster.IndexOf(r.Node) == busiest);
            if (replica is null)
            {
                continue;
            }
            var sourceAfter = source.UtilizationWith(-fit.Cpu, -fit.Memory);
            var targetAfter = target.UtilizationWith(fit.Cpu, fit.Memory);
            if (targetAfter >= sourceAfter)
            {
                continue;
            }
            var weight = source.UtilizationWith(0, 0) - sourceAfter;
            if (best is null || weight > bestWeight)
            {
                best = (replica, fit, counts);
                bestWeight = weight;
            }
        }
        return best;
    }

    private static void Move(WorkingCluster cluster, ServiceFit fit, int[] counts, ObservedReplica replica, int source, int target,
        string reason, List<PlanAction> moves)
    {
        cluster.Slots[source].Release(fit.Cpu, fit.Memory);
        cluster.Slots[target].Reserve(fit.Cpu, fit.Memory);
        fit.Claim(cluster.Slots[target]);
        counts[source]--;
        counts[target]++;
        moves.Add(new Migrate(replica.Id, replica.Node, cluster.Slots[target].Info.Name, reason));
    }

    private static string Percent(double fraction) =>
        (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + " %";
}
