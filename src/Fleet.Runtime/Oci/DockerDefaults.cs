namespace Fleet.Runtime.Oci;

/// <summary>
/// DockerDefaults are the security and filesystem defaults Docker (moby's oci/defaults.go and
/// daemon/oci_linux.go) gives every unprivileged container, so an image behaves under Fleet as it
/// does under <c>docker run</c>.
/// </summary>
public static class DockerDefaults
{
    /// <summary>Capabilities is Docker's default set, in Docker's order.</summary>
    public static readonly IReadOnlyList<string> Capabilities =
    [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ];

    /// <summary>MaskedPaths are hidden from the container (an empty file or directory is mounted over them).</summary>
    public static readonly IReadOnlyList<string> MaskedPaths =
    [
        "/proc/asound",
        "/proc/acpi",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ];

    /// <summary>ReadonlyPaths are remounted read-only inside the container.</summary>
    public static readonly IReadOnlyList<string> ReadonlyPaths =
    [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ];

    /// <summary>ShmSizeOption is Docker's default 64 MiB /dev/shm for a private IPC namespace.</summary>
    public const string ShmSizeOption = "size=65536k";

    /// <summary>PathEnv is the PATH Docker sets before the image's environment.</summary>
    public const string PathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Mounts are the filesystems every container gets, in mount order.</summary>
    public static readonly IReadOnlyList<OciMount> Mounts =
    [
        new() { Destination = "/proc", Type = "proc", Source = "proc", Options = ["nosuid", "noexec", "nodev"] },
        new() { Destination = "/dev", Type = "tmpfs", Source = "tmpfs", Options = ["nosuid", "strictatime", "mode=755", "size=65536k"] },
        new() { Destination = "/dev/pts", Type = "devpts", Source = "devpts", Options = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
        new() { Destination = "/sys", Type = "sysfs", Source = "sysfs", Options = ["nosuid", "noexec", "nodev", "ro"] },
        new() { Destination = "/sys/fs/cgroup", Type = "cgroup", Source = "cgroup", Options = ["ro", "nosuid", "noexec", "nodev"] },
        new() { Destination = "/dev/mqueue", Type = "mqueue", Source = "mqueue", Options = ["nosuid", "noexec", "nodev"] },
        new() { Destination = "/dev/shm", Type = "tmpfs", Source = "shm", Options = ["nosuid", "noexec", "nodev", "mode=1777", ShmSizeOption] },
    ];

    /// <summary>
    /// DeviceRules is the device cgroup: deny everything, allow the default devices (null, zero,
    /// full, random, urandom, tty, console, ptmx and the pty slaves), deny fuse as Docker does,
    /// then allow mknod of any device (a node is useless without an allow rule), as runc appends
    /// for Docker. The wildcards come last: cgroup v1 cannot deny a device inside a wildcard
    /// that is already allowed, and runc refuses such a list.
    /// </summary>
    public static readonly IReadOnlyList<OciDeviceRule> DeviceRules =
    [
        new() { Allow = false, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 3, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 5, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 7, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 8, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 1, Minor = 9, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 0, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 1, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 5, Minor = 2, Access = "rwm" },
        new() { Allow = true, Type = "c", Major = 136, Access = "rwm" },
        new() { Allow = false, Type = "c", Major = 10, Minor = 229, Access = "rwm" },
        new() { Allow = true, Type = "c", Access = "m" },
        new() { Allow = true, Type = "b", Access = "m" },
    ];

    /// <summary>
    /// NetworkSysctls are what Docker sets in a container's own network namespace: binding low
    /// ports and ICMP echo sockets need no capability there.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> NetworkSysctls = new Dictionary<string, string>
    {
        ["net.ipv4.ip_unprivileged_port_start"] = "0",
        ["net.ipv4.ping_group_range"] = "0 2147483647",
    };
}
