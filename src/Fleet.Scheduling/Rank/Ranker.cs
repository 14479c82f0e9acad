using Fleet.Core.Specs;
using Fleet.Scheduling.Feasibility;

namespace Fleet.Scheduling.Rank;

/// <summary>
/// Ranker picks the best feasible node for one replica.
/// Spread (the default): fewest replicas of the service on the node, then least utilized.
/// Bin-pack (<c>spread: none</c>): most utilized after placing, so replicas fill few nodes.
/// Equal nodes are ordered by the evaluation's tie key (seeded random permutation or name).
/// </summary>
internal static class Ranker
{
    /// <summary>Pick returns the chosen slot index, or -1 when no node fits; <paramref name="exclude"/> is skipped (a move's source).</summary>
    public static int Pick(WorkingCluster cluster, ServiceFit fit, int[] serviceCounts, int exclude = -1)
    {
        var spread = fit.Spec.Placement.Spread == SpreadMode.Node;
        var slots = cluster.Slots;
        var best = -1;
        var bestCount = 0;
        var bestUtilization = 0.0;
        var bestTie = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            var slot = slots[i];
            if (i == exclude || !fit.Fits(slot, i))
            {
                continue;
            }
            var utilization = slot.UtilizationWith(fit.Cpu, fit.Memory);
            var count = serviceCounts[i];
            if (best < 0 || Better(spread, count, utilization, slot.TieKey, bestCount, bestUtilization, bestTie))
            {
                best = i;
                bestCount = count;
                bestUtilization = utilization;
                bestTie = slot.TieKey;
            }
        }
        return best;
    }

    private static bool Better(bool spread, int count, double utilization, int tie, int bestCount, double bestUtilization, int bestTie)
    {
        if (spread)
        {
            if (count != bestCount)
            {
                return count < bestCount;
            }
            if (utilization != bestUtilization)
            {
                return utilization < bestUtilization;
            }
            return tie < bestTie;
        }
        if (utilization != bestUtilization)
        {
            return utilization > bestUtilization;
        }
        return tie < bestTie;
    }
}
