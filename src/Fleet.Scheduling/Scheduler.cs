using Fleet.Core.Ids;
using Fleet.Scheduling.Feasibility;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;
using Fleet.Scheduling.Rank;
using Fleet.Scheduling.Reconcile;

namespace Fleet.Scheduling;

/// <summary>
/// Scheduler turns desired services, observed replicas and nodes into a <see cref="Plan"/>.
/// It is a pure function: it reads no clock, no network and no global random; the same inputs
/// and <see cref="SchedulerOptions"/> give the same plan. Pipeline: reconcile (what each
/// service needs) → feasibility (which nodes can take it, and why not) → rank (which one).
/// </summary>
public static class Scheduler
{
    /// <summary>Schedule plans one evaluation of the whole cluster.</summary>
    public static Plan Schedule(IReadOnlyList<DesiredService> services, IReadOnlyList<ObservedReplica> replicas,
        IReadOnlyList<NodeInfo> nodes, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(replicas);
        ArgumentNullException.ThrowIfNull(nodes);
        options ??= new SchedulerOptions();
        var cluster = new WorkingCluster(nodes, options);
        var ids = new IdSource(options.Seed, replicas);
        var byService = GroupByService(replicas);
        var desiredByName = services.OrderBy(s => s.Name.Value, StringComparer.Ordinal).ToList();
        var stops = new List<PlanAction>();
        var places = new List<PlanAction>();
        var migrations = new List<PlanAction>();
        var unschedulable = new List<Unschedulable>();
        var deferred = new List<Deferred>();

        // Replicas of services that are no longer desired.
        var desiredNames = desiredByName.Select(s => s.Name).ToHashSet();
        foreach (var (service, own) in byService.OrderBy(p => p.Key.Value, StringComparer.Ordinal))
        {
            if (!desiredNames.Contains(service))
            {
                foreach (var replica in own)
                {
                    stops.Add(new Stop(replica.Id, replica.Node, $"service {service} was removed"));
                }
            }
        }

        // 1. Reconcile every service first, so that every stop frees its resources before any place.
        var results = new List<(DesiredService Service, ReconcileResult Result)>(desiredByName.Count);
        foreach (var service in desiredByName)
        {
            var own = byService.GetValueOrDefault(service.Name) ?? [];
            var result = Reconciler.Reconcile(service, own, cluster.StatusOf, options.RestartsOnNode);
            foreach (var stop in result.Stops)
            {
                stops.Add(new Stop(stop.Replica.Id, stop.Replica.Node, stop.Reason));
                Release(cluster, stop.Replica, service);
            }
            deferred.AddRange(result.Deferred);
            results.Add((service, result));
        }

        // 2 + 3. Feasibility and ranking for each replica to place, service by service.
        var migrationBudget = options.MaxConcurrentMigrations - replicas.Count(r => r.MigratingTo is not null);
        foreach (var (service, result) in results)
        {
            if (result.Places.Count == 0 && result.Moves.Count == 0)
            {
                continue;
            }
            var fit = new ServiceFit(service.Spec, cluster);
            var counts = CountPerNode(cluster, result.Staying);
            var failed = 0;
            foreach (var request in result.Places)
            {
                var index = failed > 0 ? -1 : Ranker.Pick(cluster, fit, counts);
                if (index < 0)
                {
                    failed++;
                    continue;
                }
                Reserve(cluster, fit, counts, index);
                places.Add(new Place(ids.Next(service.Name), service.Name, cluster.Slots[index].Info.Name,
                    service.Generation, request.Reason, request.Replaces));
            }
            if (failed > 0)
            {
                unschedulable.Add(new Unschedulable(service.Name, failed, Explain(cluster, fit)));
            }
            foreach (var move in result.Moves)
            {
                if (migrationBudget <= 0)
                {
                    deferred.Add(new Deferred(move.Replica.Id,
                        $"{move.Reason}: {options.MaxConcurrentMigrations} migrations already in flight in the cluster"));
                    continue;
                }
                var source = cluster.IndexOf(move.Replica.Node);
                var index = Ranker.Pick(cluster, fit, counts, exclude: source);
                if (index < 0)
                {
                    unschedulable.Add(new Unschedulable(service.Name, 1, Explain(cluster, fit, source), move.Replica.Id));
                    continue;
                }
                Reserve(cluster, fit, counts, index);
                migrationBudget--;
                migrations.Add(new Migrate(move.Replica.Id, move.Replica.Node, cluster.Slots[index].Info.Name, move.Reason));
            }
        }

        return new Plan
        {
            CreatedAt = options.Now,
            Actions = [.. stops, .. places, .. migrations],
            Unschedulable = unschedulable,
            Deferred = deferred,
        };
    }

    /// <summary>
    /// PlanMigration plans `fleetctl migrate REPLICA [--to NODE]`: one Migrate to the given node
    /// when it can take the replica, or to the best node when none is given; otherwise the plan
    /// holds an Unschedulable with the reasons.
    /// </summary>
    public static Plan PlanMigration(IReadOnlyList<DesiredService> services, IReadOnlyList<ObservedReplica> replicas,
        IReadOnlyList<NodeInfo> nodes, ReplicaId replica, NodeName? to = null, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(replicas);
        options ??= new SchedulerOptions();
        var observed = replicas.FirstOrDefault(r => r.Id == replica)
            ?? throw new ArgumentException($"replica {replica} is not known", nameof(replica));
        var service = services.FirstOrDefault(s => s.Name == observed.Service)
            ?? throw new ArgumentException($"service {observed.Service} is not desired", nameof(replica));
        var cluster = new WorkingCluster(nodes, options);
        var fit = new ServiceFit(service.Spec, cluster);
        var counts = CountPerNode(cluster, replicas.Where(r => r.Service == observed.Service && !r.IsTerminal));
        var source = cluster.IndexOf(observed.Node);
        int index;
        if (to is { } target)
        {
            index = cluster.IndexOf(target);
            if (index < 0 || index == source || !fit.Fits(cluster.Slots[index], index))
            {
                var reason = index < 0 ? "not a known node"
                    : index == source ? "the replica is already there"
                    : string.Join("; ", fit.Explain(cluster.Slots[index]));
                return new Plan
                {
                    CreatedAt = options.Now,
                    Unschedulable = [new Unschedulable(observed.Service, 1, [new NodeRejection(target, reason)], replica)],
                };
            }
        }
        else
        {
            index = Ranker.Pick(cluster, fit, counts, exclude: source);
            if (index < 0)
            {
                return new Plan
                {
                    CreatedAt = options.Now,
                    Unschedulable = [new Unschedulable(observed.Service, 1, Explain(cluster, fit, source), replica)],
                };
            }
        }
        return new Plan
        {
            CreatedAt = options.Now,
            Actions = [new Migrate(replica, observed.Node, cluster.Slots[index].Info.Name, to is null ? "requested; scheduler chose the node" : "requested")],
        };
    }

    internal static Dictionary<ServiceName, List<ObservedReplica>> GroupByService(IEnumerable<ObservedReplica> replicas)
    {
        var byService = new Dictionary<ServiceName, List<ObservedReplica>>();
        foreach (var replica in replicas)
        {
            if (!byService.TryGetValue(replica.Service, out var list))
            {
                byService[replica.Service] = list = [];
            }
            list.Add(replica);
        }
        foreach (var list in byService.Values)
        {
            list.Sort((a, b) => CompareIds(a.Id, b.Id));
        }
        return byService;
    }

    /// <summary>CompareIds orders replica ids as their text would sort, ordinal, without building the text.</summary>
    internal static int CompareIds(ReplicaId a, ReplicaId b)
    {
        var byService = string.CompareOrdinal(a.Service.Value, b.Service.Value);
        return byService != 0 ? byService : string.CompareOrdinal(a.Suffix, b.Suffix);
    }

    internal static int[] CountPerNode(WorkingCluster cluster, IEnumerable<ObservedReplica> replicas)
    {
        var counts = new int[cluster.Slots.Length];
        foreach (var replica in replicas)
        {
            var index = cluster.IndexOf(replica.Node);
            if (index >= 0)
            {
                counts[index]++;
            }
        }
        return counts;
    }

    internal static List<NodeRejection> Explain(WorkingCluster cluster, ServiceFit fit, int source = -1)
    {
        var reasons = new List<NodeRejection>(cluster.Slots.Length);
        for (var i = 0; i < cluster.Slots.Length; i++)
        {
            var slot = cluster.Slots[i];
            if (i == source)
            {
                reasons.Add(new NodeRejection(slot.Info.Name, "the replica is already there"));
                continue;
            }
            var why = fit.Explain(slot);
            if (why.Count > 0)
            {
                reasons.Add(new NodeRejection(slot.Info.Name, string.Join("; ", why)));
            }
        }
        return reasons;
    }

    private static void Reserve(WorkingCluster cluster, ServiceFit fit, int[] counts, int index)
    {
        var slot = cluster.Slots[index];
        slot.Reserve(fit.Cpu, fit.Memory);
        fit.Claim(slot);
        counts[index]++;
    }

    /// <summary>Release credits a stopped replica's resources to its node, when the node still counts them.</summary>
    private static void Release(WorkingCluster cluster, ObservedReplica replica, DesiredService service)
    {
        var index = cluster.IndexOf(replica.Node);
        if (index < 0 || replica.IsTerminal || replica.State == ReplicaState.Lost
            || cluster.Slots[index].Info.Status is NodeStatus.Unreachable or NodeStatus.Down)
        {
            return;
        }
        var resources = replica.Resources ?? service.Spec.Resources;
        cluster.Slots[index].Release(resources.Cpu?.Millicores ?? 0, resources.Memory?.Bytes ?? 0);
    }

    /// <summary>IdSource draws new replica ids from the seed, skipping ids already taken.</summary>
    private sealed class IdSource(int seed, IEnumerable<ObservedReplica> existing)
    {
        private readonly Random _random = new(seed);
        private readonly HashSet<ReplicaId> _taken = [.. existing.Select(r => r.Id)];

        public ReplicaId Next(ServiceName service)
        {
            while (true)
            {
                var id = ReplicaId.New(service, _random);
                if (_taken.Add(id))
                {
                    return id;
                }
            }
        }
    }
}
