using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Control;

/// <summary>
/// SpreadPlanner is the stand-in planner until Fleet.Scheduling is wired in: it only counts.
/// A service with too few replicas gets new ones on the worker holding the fewest of that
/// service (then the fewest overall); one with too many loses the least useful (failed first,
/// then older generations, then the newest); replicas of undeclared services are stopped.
/// Failed and exited replicas keep their slot, so an image that cannot be pulled shows as
/// Failed with its reason instead of being replaced in a loop. No constraints, no resources,
/// no rolling update.
/// </summary>
public sealed class SpreadPlanner : IReplicaPlanner
{
    public IReadOnlyList<PlanAction> Plan(
        DesiredState desired,
        ObservedState observed,
        IReadOnlyDictionary<ReplicaId, NodeName> pending,
        IReadOnlyCollection<NodeName> workers,
        Random random)
    {
        ArgumentNullException.ThrowIfNull(desired);
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(pending);
        ArgumentNullException.ThrowIfNull(workers);
        var actions = new List<PlanAction>();
        var live = observed.Replicas.Values.Where(r => r.Phase != ReplicaPhase.Stopping).ToList();
        var perNode = workers.ToDictionary(n => n, n => live.Count(r => r.Node == n) + pending.Values.Count(p => p == n));

        foreach (var replica in live.Where(r => desired.Find(r.Service) is null))
        {
            actions.Add(new StopOn(replica.Id, replica.Node, $"service {replica.Service} is not declared"));
        }

        foreach (var entry in desired.Services.Values)
        {
            var mine = live.Where(r => r.Service == entry.Name).ToList();
            var waiting = pending.Where(p => p.Key.Service == entry.Name && !observed.Replicas.ContainsKey(p.Key.ToString())).ToList();
            var missing = entry.Spec.Replicas - mine.Count - waiting.Count;
            if (missing > 0 && workers.Count > 0)
            {
                var ofService = workers.ToDictionary(
                    n => n, n => mine.Count(r => r.Node == n) + waiting.Count(p => p.Value == n));
                for (var i = 0; i < missing; i++)
                {
                    var node = workers
                        .OrderBy(n => ofService[n])
                        .ThenBy(n => perNode[n])
                        .ThenBy(n => n.Value, StringComparer.Ordinal)
                        .First();
                    ofService[node]++;
                    perNode[node]++;
                    actions.Add(new StartOn(ReplicaId.New(entry.Name, random), node, entry.Spec, entry.Generation));
                }
            }
            else if (missing < 0)
            {
                var extra = mine
                    .OrderBy(r => r.IsActive ? 1 : 0)
                    .ThenBy(r => r.Generation)
                    .ThenByDescending(r => r.StartedAt ?? DateTimeOffset.MaxValue)
                    .ThenBy(r => r.Id.ToString(), StringComparer.Ordinal)
                    .Take(-missing);
                actions.AddRange(extra.Select(r => new StopOn(r.Id, r.Node, $"service {entry.Name} scaled to {entry.Spec.Replicas}")));
            }
        }
        return actions;
    }
}
