using Fleet.Core.Specs;

namespace Fleet.Scheduling.Model;

/// <summary>
/// SpecGeneration tells whether applying a spec starts a new generation (a rolling update):
/// any change but the replica count does. ServiceSpec is a record, but its lists and maps
/// compare by reference, so the comparison is spelled out here.
/// </summary>
public static class SpecGeneration
{
    /// <summary>IsNewGeneration is true when <paramref name="next"/> differs from <paramref name="current"/> in more than Replicas.</summary>
    public static bool IsNewGeneration(ServiceSpec current, ServiceSpec next)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(next);
        return !(current.Name == next.Name
            && current.Image == next.Image
            && current.Command.SequenceEqual(next.Command)
            && SameMap(current.Env, next.Env)
            && current.Resources == next.Resources
            && current.Ports.SequenceEqual(next.Ports)
            && SameHealth(current.Health, next.Health)
            && current.Restart == next.Restart
            && current.Volumes.SequenceEqual(next.Volumes)
            && current.Placement.Spread == next.Placement.Spread
            && current.Placement.Constraints.SequenceEqual(next.Placement.Constraints)
            && current.Update == next.Update
            && current.Autoscale == next.Autoscale
            && current.Stateful == next.Stateful);
    }

    private static bool SameMap(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(p => b.TryGetValue(p.Key, out var v) && string.Equals(v, p.Value, StringComparison.Ordinal));

    private static bool SameHealth(HealthCheck? a, HealthCheck? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }
        var sameProbe = (a.Probe, b.Probe) switch
        {
            (ExecProbe x, ExecProbe y) => x.Command.SequenceEqual(y.Command),
            var (x, y) => Equals(x, y),
        };
        return sameProbe && a.Interval == b.Interval && a.Timeout == b.Timeout && a.Retries == b.Retries && a.StartPeriod == b.StartPeriod;
    }
}
