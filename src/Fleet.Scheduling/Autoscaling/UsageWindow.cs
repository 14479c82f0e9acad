using System.Collections.Immutable;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Scheduling.Autoscaling;

/// <summary>
/// UsageWindow keeps the nodes' recent usage samples (<see cref="AutoscaleProtocol.UsageSample"/>)
/// and turns them into one service's <see cref="AutoscaleMetrics"/>; pure and immutable (the
/// controller holds the current one). Samples carry cumulative counters, so rates are taken per
/// node between the oldest and newest sample of the window, each by that node's own clock (nodes'
/// clocks need not agree); which samples are in the window is judged by when they arrived.
/// <code>
/// cpu %    = mean over replicas of (Δ cpu seconds / Δ t) ÷ requested cpu × 100
/// memory % = mean over replicas of the newest memory ÷ requested memory × 100
/// rps      = Σ over nodes of Δ connections accepted by the node's mesh / Δ t   (the service's total)
/// custom   = mean over replicas of the newest scraped value
/// </code>
/// Only replicas the controller counts as active are averaged: one being stopped no longer
/// serves, and one just started has no rate until its second sample.
/// </summary>
public sealed record UsageWindow
{
    /// <summary>Empty holds no sample.</summary>
    public static readonly UsageWindow Empty = new();

    /// <summary>Received is one sample and when the controller got it.</summary>
    public sealed record Received(AutoscaleProtocol.UsageSample Sample, DateTimeOffset ReceivedAt);

    /// <summary>Samples are the samples of each node, oldest first.</summary>
    public ImmutableSortedDictionary<string, ImmutableList<Received>> Samples { get; init; } =
        ImmutableSortedDictionary.Create<string, ImmutableList<Received>>(StringComparer.Ordinal);

    /// <summary>Add records a sample received at <paramref name="receivedAt"/> and drops the node's samples older than <paramref name="keep"/>.</summary>
    public UsageWindow Add(AutoscaleProtocol.UsageSample sample, DateTimeOffset receivedAt, TimeSpan keep)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var list = Samples.GetValueOrDefault(sample.Node.Value, []);
        // A node whose clock went back (or a fleetd that restarted) starts its series anew.
        if (list.Count > 0 && sample.At <= list[^1].Sample.At)
        {
            list = [];
        }
        list = list.Add(new Received(sample, receivedAt)).RemoveAll(r => r.ReceivedAt < receivedAt - keep);
        return this with { Samples = Samples.SetItem(sample.Node.Value, list) };
    }

    /// <summary>Prune forgets samples older than <paramref name="keep"/> and nodes with none left (a node that left).</summary>
    public UsageWindow Prune(DateTimeOffset now, TimeSpan keep)
    {
        var kept = Samples
            .Select(s => KeyValuePair.Create(s.Key, s.Value.RemoveAll(r => r.ReceivedAt < now - keep)))
            .Where(s => s.Value.Count > 0);
        return this with { Samples = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, kept) };
    }

    /// <summary>
    /// Measure computes the metrics of <paramref name="spec"/>'s service from the samples received
    /// within <paramref name="window"/> before <paramref name="now"/>, averaging over
    /// <paramref name="active"/> replicas. A target whose inputs are missing (no cpu request, no
    /// two samples yet) stays null: the autoscaler then skips it.
    /// </summary>
    public UsageReading Measure(ServiceSpec spec, IReadOnlyCollection<ReplicaId> active, DateTimeOffset now, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(active);
        var service = spec.Name;
        var activeSet = active.ToHashSet();
        var cpuRates = new List<double>();
        var memory = new List<long>();
        var custom = new List<double>();
        double? requestsPerSecond = null;
        long open = 0;
        long held = 0;
        var anySample = false;
        foreach (var series in Samples.Values)
        {
            var inWindow = series
                .Where(r => r.ReceivedAt >= now - window && r.ReceivedAt <= now)
                .Select(r => (r.Sample.At, Usage: r.Sample.Services.FirstOrDefault(s => s.Service == service)))
                .Where(x => x.Usage is not null)
                .ToList();
            if (inWindow.Count == 0)
            {
                continue;
            }
            anySample = true;
            var (firstAt, first) = inWindow[0];
            var (lastAt, last) = inWindow[^1];
            open += last!.Active;
            held += last.Held;
            var span = (lastAt - firstAt).TotalSeconds;
            if (span > 0 && last.Connections >= first!.Connections)
            {
                requestsPerSecond = (requestsPerSecond ?? 0) + ((last.Connections - first.Connections) / span);
            }
            foreach (var replica in last.Replicas.Where(r => activeSet.Contains(r.Id)))
            {
                memory.Add(replica.MemoryBytes);
                if (replica.Custom is { } value && double.IsFinite(value))
                {
                    custom.Add(value);
                }
                // The replica's own first appearance in the window: it may have started within it.
                var since = inWindow.Select(x => (x.At, Replica: x.Usage!.Replicas.FirstOrDefault(r => r.Id == replica.Id)))
                    .FirstOrDefault(x => x.Replica is not null);
                var seconds = (lastAt - since.At).TotalSeconds;
                if (since.Replica is { } earlier && seconds > 0 && replica.CpuSeconds >= earlier.CpuSeconds)
                {
                    cpuRates.Add((replica.CpuSeconds - earlier.CpuSeconds) / seconds);
                }
            }
        }

        var cpuRequest = spec.Resources.Cpu is { Millicores: > 0 } cpu ? cpu.Millicores / 1000.0 : (double?)null;
        var memoryRequest = spec.Resources.Memory is { Bytes: > 0 } mem ? mem.Bytes : (long?)null;
        var metrics = new AutoscaleMetrics
        {
            CpuPercent = cpuRequest is { } cores && cpuRates.Count > 0 ? cpuRates.Average() / cores * 100 : null,
            MemoryPercent = memoryRequest is { } bytes && memory.Count > 0 ? memory.Average() / bytes * 100 : null,
            RequestsPerSecond = requestsPerSecond,
            CustomValue = custom.Count > 0 ? custom.Average() : null,
            ActiveConnections = (int)Math.Min(open, int.MaxValue),
            PendingConnections = (int)Math.Min(held, int.MaxValue),
        };
        return new UsageReading(metrics, Readings(spec, metrics), anySample);
    }

    /// <summary>Readings pairs every target of the service's policy with what was measured (rps per replica).</summary>
    public static IReadOnlyList<AutoscaleProtocol.AutoscaleReading> Readings(ServiceSpec spec, AutoscaleMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(metrics);
        var readings = new List<AutoscaleProtocol.AutoscaleReading>();
        if (spec.Autoscale is not { } policy)
        {
            return readings;
        }
        if (policy.Cpu is { } cpu)
        {
            readings.Add(new("cpu", metrics.CpuPercent, cpu.Value));
        }
        if (policy.Memory is { } memory)
        {
            readings.Add(new("memory", metrics.MemoryPercent, memory.Value));
        }
        if (policy.RequestsPerSecond is { } rps)
        {
            readings.Add(new("rps", metrics.RequestsPerSecond is { } total && spec.Replicas > 0 ? total / spec.Replicas : null, rps));
        }
        if (policy.Metric is { } metric)
        {
            readings.Add(new(metric.Name, metrics.CustomValue, metric.Target));
        }
        return readings;
    }
}

/// <summary>
/// UsageReading is one measurement of a service: the metrics the autoscaler decides on, each
/// target beside its value, and whether any node sent a sample of it at all.
/// </summary>
public sealed record UsageReading(AutoscaleMetrics Metrics, IReadOnlyList<AutoscaleProtocol.AutoscaleReading> Readings, bool Sampled);
