using Fleet.Core.Ids;

namespace Fleet.Runtime.Oci;

/// <summary>
/// ReplicaFacts are what the node agent decided for one replica before it can run: its id and
/// hostname, where its image layers and writable layer are, the host directories of its volumes,
/// the network namespace it joins and the files it gets as /etc/resolv.conf, /etc/hosts and
/// /etc/hostname. Host paths are absolute.
/// </summary>
public sealed record ReplicaFacts
{
    /// <summary>ContainerId is the runtime's container id (the replica id).</summary>
    public required string ContainerId { get; init; }

    /// <summary>Hostname defaults to <see cref="ContainerId"/>.</summary>
    public string? Hostname { get; init; }

    /// <summary>
    /// RootfsPath is root.path: relative to the bundle or absolute. With <see cref="LayerDirs"/> it
    /// is the directory the overlay is mounted on; without, it is a ready root filesystem.
    /// </summary>
    public string RootfsPath { get; init; } = "rootfs";

    /// <summary>LayerDirs are the image's unpacked layers, read-only, topmost first.</summary>
    public IReadOnlyList<string> LayerDirs { get; init; } = [];

    /// <summary>UpperDir is the replica's writable layer (kept until delete; migration carries it).</summary>
    public string? UpperDir { get; init; }

    /// <summary>WorkDir is overlayfs's scratch directory, on the same filesystem as <see cref="UpperDir"/>.</summary>
    public string? WorkDir { get; init; }

    /// <summary>VolumeDirs maps each named volume of the service to its host directory.</summary>
    public IReadOnlyDictionary<VolumeName, string> VolumeDirs { get; init; } = new Dictionary<VolumeName, string>();

    /// <summary>
    /// ImageVolumeDirs maps a path the image declares as a volume to a host directory (Docker's
    /// anonymous volume); an image volume without an entry stays in the writable layer.
    /// </summary>
    public IReadOnlyDictionary<string, string> ImageVolumeDirs { get; init; } = new Dictionary<string, string>();

    /// <summary>NetworkNamespacePath is a network namespace to join (<c>/run/netns/…</c>); null creates a new, empty one.</summary>
    public string? NetworkNamespacePath { get; init; }

    public string? ResolvConfPath { get; init; }

    public string? HostsPath { get; init; }

    public string? HostnamePath { get; init; }

    /// <summary>CgroupsPath defaults to <c>/fleet/&lt;container id&gt;</c>.</summary>
    public string? CgroupsPath { get; init; }

    /// <summary>Users is the image's passwd and group database, to resolve named users.</summary>
    public UserDatabase Users { get; init; } = UserDatabase.Empty;
}

/// <summary>
/// OciConfigOptions are the knobs where Fleet may depart from Docker's defaults; every default
/// here is Docker's.
/// </summary>
public sealed record OciConfigOptions
{
    /// <summary>Default is Docker's behaviour.</summary>
    public static readonly OciConfigOptions Default = new();

    /// <summary>Capabilities go into the bounding, effective and permitted sets (never inheritable or ambient, as Docker since 20.10.14).</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = DockerDefaults.Capabilities;

    /// <summary>NoNewPrivileges sets no_new_privs; Docker leaves it off unless asked.</summary>
    public bool NoNewPrivileges { get; init; }

    /// <summary>ReadonlyRootfs mounts the root filesystem read-only (Docker's --read-only).</summary>
    public bool ReadonlyRootfs { get; init; }

    /// <summary>PrivateCgroupNamespace adds a cgroup namespace: Docker's default on cgroup v2 hosts, not on v1.</summary>
    public bool PrivateCgroupNamespace { get; init; }

    /// <summary>PidsLimit caps the number of tasks; null means no limit, as Docker.</summary>
    public long? PidsLimit { get; init; }

    /// <summary>
    /// Rlimits are set as given. Docker sets none by default and neither does Fleet: root here
    /// lacks CAP_SYS_RESOURCE, so a hard limit above the host's own (nofile 20000) would fail;
    /// pass requested limits through <see cref="HostRlimits.Clamp"/>.
    /// </summary>
    public IReadOnlyList<OciRlimit> Rlimits { get; init; } = [];

    /// <summary>
    /// NetworkSysctls writes Docker's sysctls for a container's own network namespace
    /// (<see cref="DockerDefaults.NetworkSysctls"/>): low ports and ping without a capability.
    /// </summary>
    public bool NetworkSysctls { get; init; } = true;

    /// <summary>OomScoreAdj is Docker's default 0 (the agent may protect itself with a lower score).</summary>
    public int OomScoreAdj { get; init; }
}
