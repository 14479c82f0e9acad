using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Scheduling.Model;

/// <summary>
/// DesiredService is one service's desired state: its spec (whose <see cref="ServiceSpec.Replicas"/>
/// is the count to run — the controller puts the scaled or autoscaled count there) and the
/// spec generation; replicas of an older generation are rolled over.
/// </summary>
public sealed record DesiredService(ServiceSpec Spec, long Generation = 1)
{
    /// <summary>Name is the service's name.</summary>
    public ServiceName Name => Spec.Name;
}
