using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>
/// ServiceSpecEquality compares two specs by value, lists and maps included (record equality
/// compares collections by reference), so re-applying the same file is a no-op.
/// </summary>
public static class ServiceSpecEquality
{
    /// <summary>Equivalent is true when <paramref name="a"/> and <paramref name="b"/> declare the same service.</summary>
    public static bool Equivalent(ServiceSpec a, ServiceSpec b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return a.Name == b.Name
               && a.Image == b.Image
               && a.Replicas == b.Replicas
               && a.Command.SequenceEqual(b.Command, StringComparer.Ordinal)
               && SameMap(a.Env, b.Env)
               && a.Resources == b.Resources
               && a.Ports.SequenceEqual(b.Ports)
               && SameHealth(a.Health, b.Health)
               && a.Restart == b.Restart
               && a.Volumes.SequenceEqual(b.Volumes)
               && a.Placement.Spread == b.Placement.Spread
               && a.Placement.Constraints.SequenceEqual(b.Placement.Constraints)
               && a.Update == b.Update
               && a.Autoscale == b.Autoscale
               && a.Stateful == b.Stateful
               && string.Equals(a.StopSignal, b.StopSignal, StringComparison.Ordinal)
               && a.StopGracePeriod == b.StopGracePeriod
               && a.Init == b.Init;
    }

    private static bool SameMap(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var value) && string.Equals(value, kv.Value, StringComparison.Ordinal));

    private static bool SameHealth(HealthCheck? a, HealthCheck? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }
        var sameProbe = (a.Probe, b.Probe) switch
        {
            (ExecProbe x, ExecProbe y) => x.Command.SequenceEqual(y.Command, StringComparer.Ordinal),
            var (x, y) => Equals(x, y),
        };
        return sameProbe && a.Interval == b.Interval && a.Timeout == b.Timeout && a.Retries == b.Retries && a.StartPeriod == b.StartPeriod;
    }
}
