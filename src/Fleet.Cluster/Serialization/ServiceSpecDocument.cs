using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Cluster.Serialization;

/// <summary>
/// ServiceSpecDocument is the journal and wire schema of a <see cref="ServiceSpec"/>: plain
/// fields with stable names, durations in milliseconds, quantities in base units. The domain
/// record can be refactored freely; this shape only grows (new optional fields).
/// </summary>
public sealed record ServiceSpecDocument
{
    public required string Name { get; init; }
    public required string Image { get; init; }
    public int Replicas { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public IReadOnlyDictionary<string, string>? Env { get; init; }
    public long? CpuMillicores { get; init; }
    public long? CpuLimitMillicores { get; init; }
    public long? MemoryBytes { get; init; }
    public IReadOnlyList<PortDocument>? Ports { get; init; }
    public HealthDocument? Health { get; init; }
    public string Restart { get; init; } = "always";
    public IReadOnlyList<VolumeDocument>? Volumes { get; init; }
    public string Spread { get; init; } = "node";
    public IReadOnlyList<ConstraintDocument>? Constraints { get; init; }
    public UpdateDocument? Update { get; init; }
    public AutoscaleDocument? Autoscale { get; init; }
    public bool Stateful { get; init; }

    /// <summary>StopSignal and StopGracePeriodMs are absent (null) when the spec leaves them to the image and the node.</summary>
    public string? StopSignal { get; init; }

    public long? StopGracePeriodMs { get; init; }

    /// <summary>Init is absent (false) from documents written before it existed.</summary>
    public bool Init { get; init; }

    public sealed record PortDocument(int Container, int? Published, string Protocol);

    public sealed record HealthDocument(string Kind, string? Path, int? Port, IReadOnlyList<string>? Command, long IntervalMs, long TimeoutMs, int Retries, long StartPeriodMs);

    public sealed record VolumeDocument(string Name, string Path, bool ReadOnly);

    public sealed record ConstraintDocument(string Label, string Operator, string Value);

    /// <summary>UpdateDocument: ProgressDeadlineMs and FailureThreshold are absent from specs journaled before they existed (defaults then).</summary>
    public sealed record UpdateDocument(int MaxSurge, int MaxUnavailable, bool AutoRollback)
    {
        public long? ProgressDeadlineMs { get; init; }

        public int? FailureThreshold { get; init; }
    }

    public sealed record MetricDocument(int Port, string Path, string Name, double Target);

    public sealed record AutoscaleDocument(
        int Min, int Max, double? CpuPercent, double? MemoryPercent, double? RequestsPerSecond,
        MetricDocument? Metric, long? IdleAfterMs, long ScaleDownDelayMs)
    {
        /// <summary>WakeTimeoutMs is absent from documents written before it existed: the mesh's default then.</summary>
        public long? WakeTimeoutMs { get; init; }
    }

    /// <summary>From maps a spec to its document.</summary>
    public static ServiceSpecDocument From(ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new ServiceSpecDocument
        {
            Name = spec.Name.Value,
            Image = spec.Image.ToString(),
            Replicas = spec.Replicas,
            Command = spec.Command,
            Env = spec.Env,
            CpuMillicores = spec.Resources.Cpu?.Millicores,
            CpuLimitMillicores = spec.Resources.CpuLimit?.Millicores,
            MemoryBytes = spec.Resources.Memory?.Bytes,
            Ports = spec.Ports.Select(p => new PortDocument(p.Container, p.Published, Word(p.Protocol))).ToList(),
            Health = spec.Health is { } h ? FromHealth(h) : null,
            Restart = spec.Restart switch
            {
                RestartPolicy.Always => "always",
                RestartPolicy.OnFailure => "on-failure",
                _ => "never",
            },
            Volumes = spec.Volumes.Select(v => new VolumeDocument(v.Name.Value, v.Path, v.ReadOnly)).ToList(),
            Spread = spec.Placement.Spread == SpreadMode.None ? "none" : "node",
            Constraints = spec.Placement.Constraints
                .Select(c => new ConstraintDocument(c.Label, c.Operator == ConstraintOperator.Equal ? "==" : "!=", c.Value)).ToList(),
            Update = new UpdateDocument(spec.Update.MaxSurge, spec.Update.MaxUnavailable, spec.Update.AutoRollback)
            {
                ProgressDeadlineMs = Ms(spec.Update.ProgressDeadline),
                FailureThreshold = spec.Update.FailureThreshold,
            },
            Autoscale = spec.Autoscale is { } a
                ? new AutoscaleDocument(
                    a.Min, a.Max, a.Cpu?.Value, a.Memory?.Value, a.RequestsPerSecond,
                    a.Metric is { } m ? new MetricDocument(m.Port, m.Path, m.Name, m.Target) : null,
                    a.IdleAfter is { } idle ? Ms(idle) : null,
                    Ms(a.ScaleDownDelay))
                {
                    WakeTimeoutMs = a.WakeTimeout is { } wake ? Ms(wake) : null,
                }
                : null,
            Stateful = spec.Stateful,
            StopSignal = spec.StopSignal,
            StopGracePeriodMs = spec.StopGracePeriod is { } grace ? Ms(grace) : null,
            Init = spec.Init,
        };
    }

    /// <summary>ToSpec maps the document back; a malformed document throws <see cref="FormatException"/>.</summary>
    public ServiceSpec ToSpec() => new()
    {
        Name = ServiceName.Parse(Name),
        Image = ImageReference.Parse(Image),
        Replicas = Replicas,
        Command = Command ?? [],
        Env = Env ?? new Dictionary<string, string>(),
        Resources = new ResourceRequest
        {
            Cpu = CpuMillicores is { } cpu ? new CpuQuantity(cpu) : null,
            CpuLimit = CpuLimitMillicores is { } cpuLimit ? new CpuQuantity(cpuLimit) : null,
            Memory = MemoryBytes is { } memory ? new ByteSize(memory) : null,
        },
        Ports = (Ports ?? []).Select(p => new PortMapping(p.Container, p.Published, p.Protocol == "udp" ? PortProtocol.Udp : PortProtocol.Tcp)).ToList(),
        Health = Health?.ToHealth(),
        Restart = Restart switch
        {
            "always" => RestartPolicy.Always,
            "on-failure" => RestartPolicy.OnFailure,
            "never" => RestartPolicy.Never,
            _ => throw new FormatException($"unknown restart policy `{Restart}`"),
        },
        Volumes = (Volumes ?? []).Select(v => new VolumeMount(Volume(v.Name), v.Path, v.ReadOnly)).ToList(),
        Placement = new Placement
        {
            Spread = Spread == "none" ? SpreadMode.None : SpreadMode.Node,
            Constraints = (Constraints ?? [])
                .Select(c => new PlacementConstraint(c.Label, c.Operator == "==" ? ConstraintOperator.Equal : ConstraintOperator.NotEqual, c.Value)).ToList(),
        },
        Update = Update is { } u
            ? new UpdatePolicy
            {
                MaxSurge = u.MaxSurge,
                MaxUnavailable = u.MaxUnavailable,
                AutoRollback = u.AutoRollback,
                ProgressDeadline = u.ProgressDeadlineMs is { } deadline ? TimeSpan.FromMilliseconds(deadline) : UpdatePolicy.DefaultProgressDeadline,
                FailureThreshold = u.FailureThreshold ?? UpdatePolicy.DefaultFailureThreshold,
            }
            : new UpdatePolicy(),
        Autoscale = Autoscale is { } a
            ? new AutoscalePolicy
            {
                Min = a.Min,
                Max = a.Max,
                Cpu = a.CpuPercent is { } cpuPercent ? new Percentage(cpuPercent) : null,
                Memory = a.MemoryPercent is { } memoryPercent ? new Percentage(memoryPercent) : null,
                RequestsPerSecond = a.RequestsPerSecond,
                Metric = a.Metric is { } m ? new CustomMetricTarget(m.Port, m.Path, m.Name, m.Target) : null,
                IdleAfter = a.IdleAfterMs is { } idle ? TimeSpan.FromMilliseconds(idle) : null,
                ScaleDownDelay = TimeSpan.FromMilliseconds(a.ScaleDownDelayMs),
                WakeTimeout = a.WakeTimeoutMs is { } wake ? TimeSpan.FromMilliseconds(wake) : null,
            }
            : null,
        Stateful = Stateful,
        StopSignal = StopSignal,
        StopGracePeriod = StopGracePeriodMs is { } grace ? TimeSpan.FromMilliseconds(grace) : null,
        Init = Init,
    };

    private static HealthDocument FromHealth(HealthCheck h) => h.Probe switch
    {
        HttpProbe http => new HealthDocument("http", http.Path, http.Port, null, Ms(h.Interval), Ms(h.Timeout), h.Retries, Ms(h.StartPeriod)),
        TcpProbe tcp => new HealthDocument("tcp", null, tcp.Port, null, Ms(h.Interval), Ms(h.Timeout), h.Retries, Ms(h.StartPeriod)),
        ExecProbe exec => new HealthDocument("exec", null, null, exec.Command, Ms(h.Interval), Ms(h.Timeout), h.Retries, Ms(h.StartPeriod)),
        _ => throw new ArgumentException($"unknown health probe {h.Probe.GetType().Name}", nameof(h)),
    };

    private static string Word(PortProtocol protocol) => protocol == PortProtocol.Udp ? "udp" : "tcp";

    private static long Ms(TimeSpan duration) => (long)duration.TotalMilliseconds;

    private static VolumeName Volume(string name) =>
        VolumeName.TryParse(name, out var volume, out var error) ? volume : throw new FormatException(error);
}

/// <summary>HealthDocumentExtensions maps a health document back to the domain.</summary>
internal static class HealthDocumentExtensions
{
    public static HealthCheck ToHealth(this ServiceSpecDocument.HealthDocument h) => new()
    {
        Probe = h.Kind switch
        {
            "http" => new HttpProbe(h.Path ?? "/", h.Port ?? 0),
            "tcp" => new TcpProbe(h.Port ?? 0),
            "exec" => new ExecProbe(h.Command ?? []),
            _ => throw new FormatException($"unknown health probe kind `{h.Kind}`"),
        },
        Interval = TimeSpan.FromMilliseconds(h.IntervalMs),
        Timeout = TimeSpan.FromMilliseconds(h.TimeoutMs),
        Retries = h.Retries,
        StartPeriod = TimeSpan.FromMilliseconds(h.StartPeriodMs),
    };
}
