using Fleet.Core.Ids;
using Fleet.Core.Quantities;

namespace Fleet.Core.Specs;

/// <summary>
/// ServiceSpec is what a user declares for one service (<c>kind: Service</c>): the desired
/// state Fleet keeps. Only Name and Image are required; everything else has the default a
/// Docker or Kubernetes user would expect.
/// </summary>
public sealed record ServiceSpec
{
    /// <summary>Kind is the value of `kind:` for a service document.</summary>
    public const string Kind = "Service";

    /// <summary>DefaultReplicas is the count when `replicas:` is omitted.</summary>
    public const int DefaultReplicas = 1;

    public required ServiceName Name { get; init; }

    public required ImageReference Image { get; init; }

    public int Replicas { get; init; } = DefaultReplicas;

    /// <summary>Command replaces the image's entrypoint and command when non-empty.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public ResourceRequest Resources { get; init; } = new();

    public IReadOnlyList<PortMapping> Ports { get; init; } = [];

    public HealthCheck? Health { get; init; }

    public RestartPolicy Restart { get; init; } = RestartPolicy.Always;

    public IReadOnlyList<VolumeMount> Volumes { get; init; } = [];

    public Placement Placement { get; init; } = new();

    public UpdatePolicy Update { get; init; } = new();

    public AutoscalePolicy? Autoscale { get; init; }

    /// <summary>Stateful replicas never run twice and keep their writable layer and volumes when they move.</summary>
    public bool Stateful { get; init; }

    /// <summary>
    /// StopSignal asks a replica to stop (<c>SIGINT</c>, <c>QUIT</c>, <c>3</c>; compose's stop_signal,
    /// Nomad's kill_signal); null: the image's STOPSIGNAL, else SIGTERM.
    /// </summary>
    public string? StopSignal { get; init; }

    /// <summary>
    /// StopGracePeriod is how long a replica has after its stop signal before SIGKILL (compose's
    /// stop_grace_period, Kubernetes' terminationGracePeriodSeconds); null: the node's (10 s).
    /// </summary>
    public TimeSpan? StopGracePeriod { get; init; }

    /// <summary>
    /// Init runs a small init as the replica's pid 1 (Docker's --init, compose's init: true): it
    /// passes signals on to the process and reaps orphans, so a process that has no handler for
    /// its stop signal (as pid 1 it would ignore it) still stops when asked.
    /// </summary>
    public bool Init { get; init; }
}

/// <summary>
/// ResourceRequest is what one replica asks of a node; null means "no request, no limit".
/// <see cref="Cpu"/> is a request, as in Kubernetes and Nomad: the scheduler reserves it and the
/// replica gets that share of the CPU under contention, but may use idle CPU beyond it; only
/// <see cref="CpuLimit"/> caps it (a CFS quota). <see cref="Memory"/> is a request and a limit.
/// </summary>
public sealed record ResourceRequest
{
    public CpuQuantity? Cpu { get; init; }

    /// <summary>CpuLimit is the most CPU the replica may use (throttled beyond); null: no cap.</summary>
    public CpuQuantity? CpuLimit { get; init; }

    public ByteSize? Memory { get; init; }
}

/// <summary>PortProtocol is the transport of a port mapping.</summary>
public enum PortProtocol
{
    Tcp,
    Udp,
}

/// <summary>
/// PortMapping exposes a container port; with <see cref="Published"/> the routing mesh answers
/// on that port of every node.
/// </summary>
public sealed record PortMapping(int Container, int? Published, PortProtocol Protocol = PortProtocol.Tcp);

/// <summary>HealthProbe is one of the three kinds of health check.</summary>
public abstract record HealthProbe;

/// <summary>HttpProbe is healthy when GET <see cref="Path"/> answers 2xx or 3xx.</summary>
public sealed record HttpProbe(string Path, int Port) : HealthProbe;

/// <summary>TcpProbe is healthy when a connection to <see cref="Port"/> is accepted.</summary>
public sealed record TcpProbe(int Port) : HealthProbe;

/// <summary>ExecProbe is healthy when the command, run inside the container, exits 0.</summary>
public sealed record ExecProbe(IReadOnlyList<string> Command) : HealthProbe;

/// <summary>HealthCheck says how and how often a replica's health is probed (defaults as Docker's HEALTHCHECK).</summary>
public sealed record HealthCheck
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);
    public const int DefaultRetries = 3;

    public required HealthProbe Probe { get; init; }

    public TimeSpan Interval { get; init; } = DefaultInterval;

    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Retries is how many failures in a row make a replica unhealthy.</summary>
    public int Retries { get; init; } = DefaultRetries;

    /// <summary>StartPeriod is a grace time after start during which failures do not count.</summary>
    public TimeSpan StartPeriod { get; init; } = TimeSpan.Zero;
}

/// <summary>RestartPolicy says when an exited replica is started again.</summary>
public enum RestartPolicy
{
    Always,
    OnFailure,
    Never,
}

/// <summary>VolumeMount mounts a named volume (kept across replacements) at an absolute path.</summary>
public sealed record VolumeMount(VolumeName Name, string Path, bool ReadOnly = false);

/// <summary>SpreadMode says how replicas of one service are placed relative to each other.</summary>
public enum SpreadMode
{
    /// <summary>Node spreads replicas over nodes (the default).</summary>
    Node,

    /// <summary>None packs replicas onto as few nodes as fit them.</summary>
    None,
}

/// <summary>ConstraintOperator compares a node label with a value.</summary>
public enum ConstraintOperator
{
    Equal,
    NotEqual,
}

/// <summary>PlacementConstraint is <c>label == value</c> or <c>label != value</c> on node labels.</summary>
public sealed record PlacementConstraint(string Label, ConstraintOperator Operator, string Value)
{
    public override string ToString() => $"{Label} {(Operator == ConstraintOperator.Equal ? "==" : "!=")} {Value}";
}

/// <summary>Placement holds the service's placement rules.</summary>
public sealed record Placement
{
    public SpreadMode Spread { get; init; } = SpreadMode.Node;

    public IReadOnlyList<PlacementConstraint> Constraints { get; init; } = [];
}

/// <summary>UpdatePolicy drives rolling updates: how many extra and how many missing replicas are allowed.</summary>
public sealed record UpdatePolicy
{
    public int MaxSurge { get; init; } = 1;

    public int MaxUnavailable { get; init; }

    /// <summary>AutoRollback rolls a failing rollout back to the previous generation.</summary>
    public bool AutoRollback { get; init; }

    /// <summary>DefaultProgressDeadline is <see cref="ProgressDeadline"/> when `update.progressDeadline` is omitted.</summary>
    public static readonly TimeSpan DefaultProgressDeadline = TimeSpan.FromMinutes(2);

    /// <summary>DefaultFailureThreshold is <see cref="FailureThreshold"/> when `update.failureThreshold` is omitted.</summary>
    public const int DefaultFailureThreshold = 3;

    /// <summary>
    /// ProgressDeadline fails a rollout that made no progress for that long (no new replica
    /// became available and no old one went away), as Kubernetes' progressDeadlineSeconds.
    /// </summary>
    public TimeSpan ProgressDeadline { get; init; } = DefaultProgressDeadline;

    /// <summary>
    /// FailureThreshold fails a rollout once its new replicas have failed that many times in all
    /// (a failed health check that got a replica killed, a crash, an exit); a new replica that
    /// fails for good (no restart left, e.g. its image cannot be pulled) fails it at once.
    /// </summary>
    public int FailureThreshold { get; init; } = DefaultFailureThreshold;
}

/// <summary>CustomMetricTarget scrapes a Prometheus metric from each replica and targets its average.</summary>
public sealed record CustomMetricTarget(int Port, string Path, string Name, double Target);

/// <summary>
/// AutoscalePolicy keeps the replica count between Min and Max, driven by one or more targets.
/// With Min 0 and IdleAfter the service scales to zero when no connection arrives for that long.
/// </summary>
public sealed record AutoscalePolicy
{
    public static readonly TimeSpan DefaultScaleDownDelay = TimeSpan.FromMinutes(5);

    public int Min { get; init; } = 1;

    public required int Max { get; init; }

    /// <summary>Cpu is the target CPU use as a percentage of the requested CPU.</summary>
    public Percentage? Cpu { get; init; }

    /// <summary>Memory is the target memory use as a percentage of the requested memory.</summary>
    public Percentage? Memory { get; init; }

    /// <summary>RequestsPerSecond is the target rate per replica, counted by the routing mesh.</summary>
    public double? RequestsPerSecond { get; init; }

    public CustomMetricTarget? Metric { get; init; }

    /// <summary>IdleAfter scales to zero after that long without a connection (only with Min 0).</summary>
    public TimeSpan? IdleAfter { get; init; }

    /// <summary>
    /// WakeTimeout bounds how long the routing mesh holds a connection while the service has no
    /// healthy replica (waking from zero); then the connection is closed. Null: the mesh's default.
    /// </summary>
    public TimeSpan? WakeTimeout { get; init; }

    /// <summary>ScaleDownDelay is the stabilization window before a scale-down.</summary>
    public TimeSpan ScaleDownDelay { get; init; } = DefaultScaleDownDelay;
}
