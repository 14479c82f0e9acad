namespace Fleet.Runtime;

/// <summary>
/// IContainerRuntime runs OCI bundles on this node. Every failure is a
/// <see cref="ContainerRuntimeException"/> that names the operation, the container and the cause.
/// </summary>
/// <remarks>
/// Only <see cref="CreateAsync"/> starts a process (the container's fleet-shim, which outlives
/// the caller); the other calls are short, in-process and never fork, so they are synchronous.
/// </remarks>
public interface IContainerRuntime
{
    /// <summary>
    /// CreateAsync spawns the container's shim and returns once the container exists, its init
    /// process waiting for <see cref="Start"/>.
    /// </summary>
    Task<ContainerState> CreateAsync(CreateContainerRequest request, CancellationToken cancellationToken = default);

    /// <summary>Start runs the user process of a created container.</summary>
    void Start(string id);

    /// <summary>State reads the OCI state of one container.</summary>
    ContainerState State(string id);

    /// <summary>Kill sends <paramref name="signal"/> to the container's init process.</summary>
    void Kill(string id, int signal);

    /// <summary>
    /// Delete removes a stopped container: cgroup, mounts, state directory (the writable layer is
    /// the caller's). With <paramref name="force"/> a running container is killed first.
    /// </summary>
    void Delete(string id, bool force = false);

    /// <summary>Pause freezes every process of the container (cgroup freezer).</summary>
    void Pause(string id);

    /// <summary>Resume thaws a paused container.</summary>
    void Resume(string id);

    /// <summary>Stats reads the container's cgroup counters.</summary>
    ContainerStats Stats(string id);

    /// <summary>List returns every container under the runtime's state root, in no particular order.</summary>
    IReadOnlyList<ContainerState> List();
}

/// <summary>ContainerStatus is the OCI runtime status of a container.</summary>
public enum ContainerStatus
{
    /// <summary>Unknown is a status this binding does not know; the text is in <see cref="ContainerState.StatusText"/>.</summary>
    Unknown,
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

/// <summary>ContainerState is the OCI state of one container (runtime-spec runtime.md).</summary>
public sealed record ContainerState
{
    public required string Id { get; init; }

    public required ContainerStatus Status { get; init; }

    /// <summary>StatusText is the status exactly as the runtime reported it.</summary>
    public string StatusText { get; init; } = "";

    /// <summary>Pid is the container's init process on the host; 0 when it has none (stopped).</summary>
    public int Pid { get; init; }

    /// <summary>Bundle is the absolute path of the container's bundle.</summary>
    public string Bundle { get; init; } = "";

    public string OciVersion { get; init; } = "";

    public IReadOnlyDictionary<string, string> Annotations { get; init; } = new Dictionary<string, string>();

    /// <summary>Created is when the container was created, when the runtime says.</summary>
    public DateTimeOffset? Created { get; init; }

    /// <summary>ShimPid is the container's fleet-shim (its parent), when known.</summary>
    public int? ShimPid { get; init; }

    /// <summary>ExitCode is the exit status once stopped: the code, or 128 + signal as a shell reports it.</summary>
    public int? ExitCode { get; init; }

    /// <summary>ExitSignal is the signal that ended the init process, 0 when it exited by itself.</summary>
    public int? ExitSignal { get; init; }

    /// <summary>OomKilled says the kernel's OOM killer ended the container.</summary>
    public bool OomKilled { get; init; }

    /// <summary>StopSignal is the signal that asks this container to stop, from its config (SIGTERM when it names none).</summary>
    public int StopSignal =>
        Annotations.TryGetValue(Oci.OciConfigBuilder.StopSignalAnnotation, out var text)
        && int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var signal)
        && signal is >= 1 and <= 64
            ? signal
            : Oci.Signals.SigTerm;

    /// <summary>StopGracePeriod is the time between the stop signal and SIGKILL its service asked for; null: the node's.</summary>
    public TimeSpan? StopGracePeriod =>
        Annotations.TryGetValue(Oci.OciConfigBuilder.StopGracePeriodAnnotation, out var text)
        && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : null;

    /// <summary>ParseStatus maps the spec's status words; anything else is <see cref="ContainerStatus.Unknown"/>.</summary>
    public static ContainerStatus ParseStatus(string status) => status switch
    {
        "creating" => ContainerStatus.Creating,
        "created" => ContainerStatus.Created,
        "running" => ContainerStatus.Running,
        "paused" => ContainerStatus.Paused,
        "stopped" => ContainerStatus.Stopped,
        _ => ContainerStatus.Unknown,
    };
}

/// <summary>ContainerStats are a container's cgroup counters at one instant.</summary>
/// <param name="CpuUsageNs">CPU time used by every process of the container, in nanoseconds.</param>
/// <param name="MemoryUsageBytes">Memory charged to the container now.</param>
/// <param name="MemoryPeakBytes">The highest memory use seen.</param>
/// <param name="MemoryLimitBytes">The memory limit; null when unlimited.</param>
/// <param name="PidsCurrent">Tasks (threads) in the container.</param>
/// <param name="OomKills">Processes the OOM killer has killed in the container.</param>
public sealed record ContainerStats(
    ulong CpuUsageNs,
    ulong MemoryUsageBytes,
    ulong MemoryPeakBytes,
    ulong? MemoryLimitBytes,
    ulong PidsCurrent,
    ulong OomKills);

/// <summary>CreateContainerRequest names a bundle to create a container from, and where its output goes.</summary>
public sealed record CreateContainerRequest
{
    /// <summary>Id is the container id, unique under the runtime's state root.</summary>
    public required string Id { get; init; }

    /// <summary>BundlePath is the bundle directory holding config.json.</summary>
    public required string BundlePath { get; init; }

    /// <summary>
    /// LogPath receives stdout and stderr as JSON lines. Null is for tools and tests: the
    /// container then inherits the caller's stderr and has no stdout.
    /// </summary>
    public string? LogPath { get; init; }

    /// <summary>LogMaxBytes is the size at which the log is rotated.</summary>
    public long? LogMaxBytes { get; init; }

    /// <summary>LogFiles is how many rotated files are kept.</summary>
    public int? LogFiles { get; init; }
}
