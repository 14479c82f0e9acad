using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Scheduling.Model;

/// <summary>
/// SpecGeneration tells whether applying a spec starts a new generation (a rolling update):
/// any change but the replica count does.
/// </summary>
public static class SpecGeneration
{
    /// <summary>IsNewGeneration is true when <paramref name="next"/> differs from <paramref name="current"/> in more than Replicas.</summary>
    public static bool IsNewGeneration(ServiceSpec current, ServiceSpec next)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(next);
        // Value comparison lives in Core (record equality compares lists by reference).
        return !ServiceSpecEquality.Equivalent(current, next with { Replicas = current.Replicas });
    }
}
