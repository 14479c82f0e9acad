using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Scheduling.Autoscaling;

/// <summary>
/// MeshUsage is what the routing meshes of every node say about one service: when the last
/// connection was accepted anywhere (null: none seen), and how many are open or held now.
/// </summary>
public sealed record MeshUsage(DateTimeOffset? LastConnectionAt, long Active, long Held)
{
    /// <summary>None is a service no mesh has reported a connection of.</summary>
    public static readonly MeshUsage None = new(null, 0, 0);
}

/// <summary>ScaleToZeroDecision is a change of the desired count the zero path makes, with its reason as events show it.</summary>
public sealed record ScaleToZeroDecision(ServiceName Service, int From, int To, string Reason)
{
    public override string ToString() => Reason;
}

/// <summary>
/// ScaleToZero decides the two moves of a service with <c>autoscale: { min: 0, idleAfter }</c>;
/// pure (the clock is an input). <b>Idle</b>: no connection open or held on any node and none
/// accepted for idleAfter — counted from the last connection, or from when the controller began
/// to watch (its start, the service's last change) when that is later, so a fresh controller
/// never scales to zero on news it has not had yet → 0 replicas. <b>Wake</b>: a connection
/// waits for a service at 0 → 1 replica, as Knative's activator does; the general autoscaler
/// takes it on from there within min/max.
/// </summary>
public static class ScaleToZero
{
    /// <summary>Applies says whether a policy lets its service scale to zero.</summary>
    public static bool Applies(AutoscalePolicy? policy) => policy is { Min: 0, IdleAfter: not null };

    /// <summary>
    /// DecideIdle returns the scale to zero when <paramref name="replicas"/> (the desired count)
    /// is above zero and the service has been idle for its idleAfter; null otherwise.
    /// </summary>
    public static ScaleToZeroDecision? DecideIdle(ServiceName service, AutoscalePolicy? policy, int replicas, MeshUsage usage,
        DateTimeOffset watchedSince, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(usage);
        if (!Applies(policy) || replicas <= 0 || usage.Active > 0 || usage.Held > 0)
        {
            return null;
        }
        var idleAfter = policy!.IdleAfter!.Value;
        var idleSince = usage.LastConnectionAt is { } last && last > watchedSince ? last : watchedSince;
        var idleFor = now - idleSince;
        if (idleFor < idleAfter)
        {
            return null;
        }
        var why = usage.LastConnectionAt is null || usage.LastConnectionAt < watchedSince
            ? $"no connection for {Text(idleFor)}"
            : $"idle for {Text(idleFor)}";
        return new ScaleToZeroDecision(service, replicas, 0, $"{service} {N(replicas)} → 0: {why} (idleAfter {DurationText.Format(idleAfter)})");
    }

    /// <summary>
    /// DecideWake returns the scale from zero when a connection waits on <paramref name="waitingOn"/>
    /// for a service whose desired count is 0; null when the service does not scale to zero or
    /// already has replicas desired (they are starting, or the mesh will find them).
    /// </summary>
    public static ScaleToZeroDecision? DecideWake(ServiceName service, AutoscalePolicy? policy, int replicas, NodeName waitingOn)
    {
        if (!Applies(policy) || replicas > 0)
        {
            return null;
        }
        var to = Math.Min(Math.Max(1, policy!.Min), Math.Max(1, policy.Max));
        return new ScaleToZeroDecision(service, 0, to, $"{service} 0 → {N(to)}: a connection is waiting on {waitingOn}");
    }

    /// <summary>IdleFor is how long the service has been idle by the same rule as <see cref="DecideIdle"/> (for describe).</summary>
    public static TimeSpan IdleFor(MeshUsage usage, DateTimeOffset watchedSince, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(usage);
        if (usage.Active > 0 || usage.Held > 0)
        {
            return TimeSpan.Zero;
        }
        var since = usage.LastConnectionAt is { } last && last > watchedSince ? last : watchedSince;
        return now > since ? now - since : TimeSpan.Zero;
    }

    // Whole seconds: "idle for 5m", not "idle for 5m0s213ms".
    private static string Text(TimeSpan span) => DurationText.Format(TimeSpan.FromSeconds(Math.Max(1, Math.Floor(span.TotalSeconds))));

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
}
