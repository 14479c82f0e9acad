using Fleet.Runtime.Oci;

namespace Fleet.Node.Replicas;

/// <summary>ContainerDriverOptions are the knobs of <see cref="ContainerReplicaDriver"/>; every default is Docker's where Docker has one.</summary>
public sealed record ContainerDriverOptions
{
    /// <summary>StopGracePeriod is how long a replica has after its stop signal before SIGKILL (Docker's 10 s).</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>WatchInterval is how often one timer reads every replica's state to notice exits and due probes.</summary>
    public TimeSpan WatchInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// StartupProbeDelay is the first retry delay of a replica's start-up probing: a new container
    /// is probed as soon as it runs, and until its first success it is probed again after this
    /// delay, growing by half each time up to the check's interval (Docker's start-interval, a
    /// Kubernetes startup probe): 10, 15, 22, 34, 51, 76 ms… so a server that binds 60 ms after
    /// its start is seen healthy by 80 ms, not at the next doubling step. Failures still count
    /// only once per interval, so Retries keeps its meaning.
    /// </summary>
    public TimeSpan StartupProbeDelay { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>StartupProbeGrowth is the factor between two start-up probe delays.</summary>
    public double StartupProbeGrowth { get; init; } = 1.5;

    /// <summary>
    /// ParallelBundles is how many replicas may be writing their address, bundle and record at
    /// once, each on a dedicated thread (blocking file work with fsyncs); the rest of a start
    /// (image, container) is not limited.
    /// </summary>
    public int ParallelBundles { get; init; } = 4;

    public RestartBackoff Backoff { get; init; } = new();

    /// <summary>LogMaxBytes is the size at which a replica's log is rotated (Docker's json-file max-size).</summary>
    public long LogMaxBytes { get; init; } = 10 * 1024 * 1024;

    /// <summary>LogFiles is how many log files a replica keeps (Docker's json-file max-file).</summary>
    public int LogFiles { get; init; } = 3;

    /// <summary>
    /// CgroupParent is the cgroup every replica of this driver lives under; by default
    /// <c>/fleet/&lt;node&gt;-&lt;8 hex of the data dir&gt;</c>, unique per node and data dir.
    /// </summary>
    public string? CgroupParent { get; init; }

    public OciConfigOptions Oci { get; init; } = OciConfigOptions.Default;

    /// <summary>MigrationTransport reaches other nodes for stateful migrations into this one (null: such migrations fail).</summary>
    public Fleet.Node.Migration.IMigrationTransport? MigrationTransport { get; init; }

    /// <summary>PullCompleted is told how long each successful image pull took (fleetd's pull-duration metric).</summary>
    public Action<TimeSpan>? PullCompleted { get; init; }
}
