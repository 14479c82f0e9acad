using Fleet.Core.Ids;

namespace Fleet.Scheduling.Autoscaling;

/// <summary>
/// AutoscaleMetrics is what was measured for one service since the last evaluation. A null
/// value means "not measured"; its target is then skipped.
/// </summary>
public sealed record AutoscaleMetrics
{
    /// <summary>CpuPercent is the average cpu use of the replicas as a percentage of their cpu request.</summary>
    public double? CpuPercent { get; init; }

    /// <summary>MemoryPercent is the average memory use as a percentage of the memory request.</summary>
    public double? MemoryPercent { get; init; }

    /// <summary>RequestsPerSecond is the service's total request rate, counted by the routing mesh.</summary>
    public double? RequestsPerSecond { get; init; }

    /// <summary>CustomValue is the average of the custom metric over the replicas.</summary>
    public double? CustomValue { get; init; }

    /// <summary>ActiveConnections are the connections open through the mesh now.</summary>
    public int ActiveConnections { get; init; }

    /// <summary>PendingConnections are connections the mesh holds while the service is at zero.</summary>
    public int PendingConnections { get; init; }

    /// <summary>LastConnectionAt is when the mesh last accepted a connection for the service; null if never.</summary>
    public DateTimeOffset? LastConnectionAt { get; init; }
}

/// <summary>AutoscalerOptions are the cluster-wide knobs; the defaults follow the Kubernetes HPA.</summary>
public sealed record AutoscalerOptions
{
    /// <summary>Tolerance: no change while value/target is within 1 ± this.</summary>
    public double Tolerance { get; init; } = 0.1;

    /// <summary>RateLimitPeriod is the window the rate limits below apply to.</summary>
    public TimeSpan RateLimitPeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>ScaleUpMaxFactor: within a period, grow to at most this many times the count at its start…</summary>
    public double ScaleUpMaxFactor { get; init; } = 2.0;

    /// <summary>ScaleUpMinStep: …or by this many replicas, whichever is more.</summary>
    public int ScaleUpMinStep { get; init; } = 4;

    /// <summary>ScaleDownMaxFraction: within a period, remove at most this fraction of the count at its start (1 = no limit).</summary>
    public double ScaleDownMaxFraction { get; init; } = 1.0;
}

/// <summary>Recommendation is what one evaluation computed before stabilization.</summary>
public sealed record Recommendation(DateTimeOffset At, int Replicas);

/// <summary>ScaleEvent is a change the autoscaler decided.</summary>
public sealed record ScaleEvent(DateTimeOffset At, int From, int To);

/// <summary>
/// AutoscalerState is the memory of the autoscaler for one service: the recommendations
/// within the stabilization window and the scale events within the rate-limit period. Decide
/// returns the next state; the controller keeps it (it is small and need not be persisted:
/// after a fail-over it starts again from <see cref="Initial"/>, which only delays scale-downs).
/// </summary>
public sealed record AutoscalerState
{
    /// <summary>Initial is the state before the first evaluation.</summary>
    public static readonly AutoscalerState Initial = new();

    /// <summary>Since is the time of the first evaluation; no scale-down before Since + window.</summary>
    public DateTimeOffset? Since { get; init; }

    public IReadOnlyList<Recommendation> Recommendations { get; init; } = [];

    public IReadOnlyList<ScaleEvent> Events { get; init; } = [];
}

/// <summary>
/// AutoscaleDecision is one evaluation's outcome: the count to run and the reason, as an event
/// would show it ("web 3 → 7: cpu 140 % of target 60 %"), and the state for the next evaluation.
/// </summary>
public sealed record AutoscaleDecision(ServiceName Service, int Current, int Desired, string Reason, AutoscalerState State)
{
    /// <summary>Changed is true when the count should change.</summary>
    public bool Changed => Desired != Current;

    public override string ToString() => Reason;
}
