using Fleet.Core.Ids;

namespace Fleet.Scheduling.Autoscaling;

/// <summary>
/// MeshActivityLedger keeps what each node's routing mesh last reported per service and merges
/// it into one <see cref="MeshUsage"/> per service. Times come in relative to the report ("the
/// last connection was 2 s ago") and are fixed at the time of receipt, so nodes' clocks need not
/// agree with the controller's. The last connection only moves forward (a restarted node that
/// has seen none since does not make an active service look idle); open and held counts are
/// taken only from reports younger than the stale age, so a node that fell silent with a
/// connection open does not keep its service awake forever. Soft state: after a controller
/// fail-over it is rebuilt from the next reports.
/// </summary>
public sealed class MeshActivityLedger
{
    private readonly Dictionary<(ServiceName Service, NodeName Node), Entry> _entries = [];

    /// <summary>StaleAfter is how long a node's open/held counts are believed without a new report.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Record folds in one node's report of one service, received at <paramref name="now"/>.</summary>
    public void Record(NodeName node, ServiceName service, TimeSpan? sinceLastConnection, long active, long held, DateTimeOffset now)
    {
        DateTimeOffset? last = sinceLastConnection is { } since ? now - since : null;
        if (_entries.TryGetValue((service, node), out var known) && known.LastConnectionAt is { } before && (last is null || last < before))
        {
            last = before;
        }
        _entries[(service, node)] = new Entry(last, active, held, now);
    }

    /// <summary>UsageOf merges every node's report of <paramref name="service"/>.</summary>
    public MeshUsage UsageOf(ServiceName service, DateTimeOffset now)
    {
        DateTimeOffset? last = null;
        long active = 0, held = 0;
        foreach (var ((s, _), entry) in _entries)
        {
            if (s != service)
            {
                continue;
            }
            if (entry.LastConnectionAt is { } at && (last is null || at > last))
            {
                last = at;
            }
            if (now - entry.ReportedAt <= StaleAfter)
            {
                active += entry.Active;
                held += entry.Held;
            }
        }
        return last is null && active == 0 && held == 0 ? MeshUsage.None : new MeshUsage(last, active, held);
    }

    /// <summary>Forget drops what is known of services no longer declared.</summary>
    public void Forget(Func<ServiceName, bool> declared)
    {
        ArgumentNullException.ThrowIfNull(declared);
        foreach (var key in _entries.Keys.Where(k => !declared(k.Service)).ToList())
        {
            _entries.Remove(key);
        }
    }

    private sealed record Entry(DateTimeOffset? LastConnectionAt, long Active, long Held, DateTimeOffset ReportedAt);
}
