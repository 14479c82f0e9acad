using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Scheduling.Autoscaling;

/// <summary>
/// Autoscaler decides a service's replica count from its metrics; pure (the clock is an input).
/// For every measured target: desired = ceil(current × value / target), unless value/target is
/// within the tolerance; the largest wins. Then: clamp to min/max; scale up at once (rate
/// limited); scale down only to the highest recommendation of the stabilization window
/// (policy.ScaleDownDelay); with min 0 and idleAfter, scale to zero after that long with no
/// connection, and back to one as soon as a connection waits.
/// </summary>
public static class Autoscaler
{
    /// <summary>Decide evaluates once; feed the returned <see cref="AutoscaleDecision.State"/> to the next call.</summary>
    public static AutoscaleDecision Decide(ServiceName service, AutoscalePolicy policy, int current, AutoscaleMetrics metrics,
        AutoscalerState state, DateTimeOffset now, AutoscalerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(state);
        options ??= new AutoscalerOptions();
        var since = state.Since ?? now;
        var window = policy.ScaleDownDelay;
        var max = Math.Max(policy.Max, Math.Max(policy.Min, 1));

        // 1. Scale from zero: a waiting connection wakes the service.
        if (current == 0)
        {
            if (metrics.PendingConnections > 0 || metrics.ActiveConnections > 0)
            {
                var wake = Math.Max(1, policy.Min);
                return Done(service, current, wake, $"{service} 0 → {N(wake)}: a connection is waiting", state, since, now, window, options);
            }
            if (policy.Min > 0)
            {
                return Done(service, current, Math.Min(policy.Min, max), $"{service} 0 → {N(Math.Min(policy.Min, max))}: below min {N(policy.Min)}", state, since, now, window, options);
            }
            return Done(service, 0, 0, $"{service} stays at 0: idle, no connection waiting", state, since, now, window, options);
        }

        // 2. Scale to zero: min 0, idleAfter elapsed since the last connection (or since the first evaluation).
        if (policy.Min == 0 && policy.IdleAfter is { } idleAfter
            && metrics.ActiveConnections == 0 && metrics.PendingConnections == 0
            && now - (metrics.LastConnectionAt ?? since) >= idleAfter)
        {
            var idleFor = now - (metrics.LastConnectionAt ?? since);
            return Done(service, current, 0,
                $"{service} {N(current)} → 0: no connection for {DurationText.Format(Truncate(idleFor))} (idleAfter {DurationText.Format(idleAfter)})",
                state, since, now, window, options);
        }

        // 3. Recommendation from the targets.
        var floor = Math.Max(1, policy.Min);
        var (raw, why) = Recommend(policy, current, metrics, options.Tolerance);
        var clamped = Math.Clamp(raw, floor, max);
        if (clamped != raw)
        {
            why += raw > max ? $", capped at max {N(max)}" : $", kept at min {N(floor)}";
        }
        var history = state.Recommendations.Where(r => r.At > now - window).Append(new Recommendation(now, clamped)).ToList();
        var next = state with { Since = since, Recommendations = history };

        // Out of bounds (a manual scale or a policy change): back within min/max at once.
        if (current > max || current < floor)
        {
            var bounded = Math.Clamp(current, floor, max);
            var bound = current > max ? $"above max {N(max)}" : $"below min {N(floor)}";
            return Changed(service, current, bounded, $"{service} {N(current)} → {N(bounded)}: {bound}", next, now, options);
        }

        // 4. Scale up at once, within the rate limit.
        if (clamped > current)
        {
            var start = PeriodStart(state, current, now, options);
            var limit = Math.Max((int)Math.Floor(start * options.ScaleUpMaxFactor), start + options.ScaleUpMinStep);
            var desired = Math.Min(clamped, Math.Max(limit, current));
            var limited = desired < clamped ? $" (rate limit: at most {N(limit)} per {DurationText.Format(options.RateLimitPeriod)})" : "";
            if (desired == current)
            {
                return new AutoscaleDecision(service, current, current, $"{service} stays at {N(current)}: {why}{limited}", next);
            }
            return Changed(service, current, desired, $"{service} {N(current)} → {N(desired)}: {why}{limited}", next, now, options);
        }

        // 5. Scale down only to the highest recommendation within the stabilization window.
        if (clamped < current)
        {
            var windowText = DurationText.Format(window);
            if (now - since < window)
            {
                return new AutoscaleDecision(service, current, current,
                    $"{service} stays at {N(current)}: {why} suggests {N(clamped)}, waiting for the {windowText} stabilization window", next);
            }
            var stable = history.Max(r => r.Replicas);
            if (stable >= current)
            {
                return new AutoscaleDecision(service, current, current,
                    $"{service} stays at {N(current)}: {why} suggests {N(clamped)}, but {N(stable)} was recommended within the {windowText} stabilization window", next);
            }
            var start = PeriodStart(state, current, now, options);
            var lowest = start - (int)Math.Ceiling(start * options.ScaleDownMaxFraction);
            var desired = Math.Max(stable, Math.Min(current, Math.Max(lowest, floor)));
            var limited = desired > stable ? $" (rate limit: at least {N(desired)} per {DurationText.Format(options.RateLimitPeriod)})" : "";
            return Changed(service, current, desired, $"{service} {N(current)} → {N(desired)}: {why}{limited}", next, now, options);
        }

        return new AutoscaleDecision(service, current, current, $"{service} stays at {N(current)}: {why}", next);
    }

    /// <summary>
    /// AfterManualScale is the state after `fleetctl scale` set <paramref name="replicas"/>: the
    /// autoscaler continues from that count. It counts as a recommendation, so a scale-down below
    /// it waits a full stabilization window (a scale-up still happens at once), and as a scale
    /// event for the rate limits.
    /// </summary>
    public static AutoscalerState AfterManualScale(AutoscalerState state, int previous, int replicas, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        return state with
        {
            Since = state.Since ?? now,
            Recommendations = [.. state.Recommendations, new Recommendation(now, replicas)],
            Events = [.. state.Events, new ScaleEvent(now, previous, replicas)],
        };
    }

    /// <summary>Recommend computes the largest proposal over the measured targets, with the reason of the one that won.</summary>
    internal static (int Replicas, string Reason) Recommend(AutoscalePolicy policy, int current, AutoscaleMetrics metrics, double tolerance)
    {
        var proposals = new List<(int Replicas, string Reason)>();
        void Add(double? value, double? target, Func<double, double, string> describe)
        {
            if (value is not { } v || target is not { } t || t <= 0 || !double.IsFinite(v))
            {
                return;
            }
            var ratio = v / t;
            var text = describe(v, t);
            if (Math.Abs(ratio - 1) <= tolerance)
            {
                proposals.Add((current, $"{text} (within {Pct(tolerance * 100)} tolerance)"));
                return;
            }
            // current × value / target, guarded against 7.000000001 rounding up to 8.
            proposals.Add(((int)Math.Ceiling((current * v / t) - 1e-9), text));
        }

        Add(metrics.CpuPercent, policy.Cpu?.Value, (v, t) => $"cpu {Pct(v)} of target {Pct(t)}");
        Add(metrics.MemoryPercent, policy.Memory?.Value, (v, t) => $"memory {Pct(v)} of target {Pct(t)}");
        Add(metrics.RequestsPerSecond is { } rps ? rps / current : null, policy.RequestsPerSecond,
            (v, t) => $"{Num(v)} requests/s per replica of target {Num(t)}");
        Add(metrics.CustomValue, policy.Metric?.Target, (v, t) => $"{policy.Metric!.Name} {Num(v)} of target {Num(t)}");
        if (proposals.Count == 0)
        {
            return (current, "no metrics measured");
        }
        return proposals.MaxBy(p => p.Replicas);
    }

    /// <summary>PeriodStart is the count at the start of the rate-limit period: the From of its oldest event, or now's count.</summary>
    private static int PeriodStart(AutoscalerState state, int current, DateTimeOffset now, AutoscalerOptions options) =>
        state.Events.Where(e => e.At > now - options.RateLimitPeriod).Select(e => (int?)e.From).FirstOrDefault() ?? current;

    private static AutoscaleDecision Changed(ServiceName service, int current, int desired, string reason, AutoscalerState next,
        DateTimeOffset now, AutoscalerOptions options)
    {
        var events = next.Events.Where(e => e.At > now - options.RateLimitPeriod).Append(new ScaleEvent(now, current, desired)).ToList();
        return new AutoscaleDecision(service, current, desired, reason, next with { Events = events });
    }

    private static AutoscaleDecision Done(ServiceName service, int current, int desired, string reason, AutoscalerState state,
        DateTimeOffset since, DateTimeOffset now, TimeSpan window, AutoscalerOptions options)
    {
        var next = state with
        {
            Since = since,
            Recommendations = [.. state.Recommendations.Where(r => r.At > now - window).Append(new Recommendation(now, desired))],
        };
        return desired == current
            ? new AutoscaleDecision(service, current, current, reason, next)
            : Changed(service, current, desired, reason, next, now, options);
    }

    private static TimeSpan Truncate(TimeSpan span) => TimeSpan.FromSeconds(Math.Floor(span.TotalSeconds));

    private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Num(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Pct(double value) => Num(value) + " %";
}
