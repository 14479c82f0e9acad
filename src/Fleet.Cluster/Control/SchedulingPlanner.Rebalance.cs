using Fleet.Scheduling.Model;
using Fleet.Scheduling.Rebalancing;

namespace Fleet.Cluster.Control;

/// <summary>The rebalance side of the controller's planner.</summary>
public sealed partial class SchedulingPlanner
{
    /// <summary>
    /// Rebalance asks the pure <see cref="Rebalancer.Plan"/> which replicas to move to even out
    /// the cluster, over the same view as <see cref="Plan"/> (moves in flight count against
    /// <see cref="RebalanceOptions.MaxConcurrent"/>), and returns them as <see cref="MigrateOn"/>s
    /// with new replica ids, plus the rebalancer's deferred notes.
    /// </summary>
    public ReplicaPlan Rebalance(PlanInput input, RebalanceOptions options, Random random)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        var (services, replicas, nodes) = Snapshot(input);
        var plan = Rebalancer.Plan(services, replicas, nodes, options, new SchedulerOptions
        {
            Now = input.Now,
            Seed = random.Next(),
            TieBreak = TieBreak.Random,
            RestartsOnNode = true,
        });
        return Translate(plan, input, random);
    }
}
