using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>
/// AutoscaleProtocol holds what the autoscaler needs besides the desired state: the usage
/// samples every node sends to the controller, and the query behind `fleetctl describe` and
/// /metrics. Samples carry cumulative counters (cpu seconds, connections accepted), so a lost
/// sample loses no usage: the controller takes rates between the oldest and newest sample of
/// its window.
/// </summary>
public static class AutoscaleProtocol
{
    /// <summary>
    /// UsageSample is one node's reading, at <paramref name="At"/> by its own clock, of every
    /// service with <c>autoscale:</c>: what its replicas there use and what its routing mesh
    /// counted. A node without a replica of a service still reports the service's mesh counts.
    /// </summary>
    public sealed record UsageSample(NodeName Node, DateTimeOffset At, IReadOnlyList<ServiceUsage> Services);

    /// <summary>
    /// ServiceUsage is one service on one node: <paramref name="Connections"/> accepted by this
    /// node's mesh since fleetd started (cumulative), those open now (<paramref name="Active"/>)
    /// and those held waiting for a backend (<paramref name="Held"/>), and its replicas here.
    /// </summary>
    public sealed record ServiceUsage(ServiceName Service, long Connections, long Active, long Held, IReadOnlyList<ReplicaUsage> Replicas);

    /// <summary>
    /// ReplicaUsage is one replica's cgroup readings: cpu seconds used since it started
    /// (cumulative), memory charged now, and the custom metric scraped from its own endpoint
    /// (null when the service has none or the scrape failed).
    /// </summary>
    public sealed record ReplicaUsage(ReplicaId Id, double CpuSeconds, long MemoryBytes, double? Custom);

    /// <summary>GetAutoscale asks for the autoscaler's view of one service, or of every autoscaled service when null.</summary>
    public sealed record GetAutoscale(ServiceName? Service);

    /// <summary>AutoscaleResponse answers <see cref="GetAutoscale"/>, by service name.</summary>
    public sealed record AutoscaleResponse(IReadOnlyList<AutoscaleStatus> Services);

    /// <summary>
    /// AutoscaleStatus is what the autoscaler last saw and decided for a service: its bounds, the
    /// desired count, every target with the value measured (null: not measured), the last
    /// evaluation's reason, and how many times it scaled up and down since this controller started.
    /// </summary>
    public sealed record AutoscaleStatus(
        ServiceName Service,
        int Min,
        int Max,
        int Replicas,
        IReadOnlyList<AutoscaleReading> Readings,
        string? LastReason,
        DateTimeOffset? EvaluatedAt,
        long ScaledUp,
        long ScaledDown);

    /// <summary>
    /// AutoscaleReading is one target: <paramref name="Metric"/> is cpu, memory, rps or the custom
    /// metric's name; cpu and memory are percentages of the request, rps is per replica.
    /// </summary>
    public sealed record AutoscaleReading(string Metric, double? Value, double Target);
}
