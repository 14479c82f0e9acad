namespace Fleet.Runtime.Oci;

// The OCI runtime-spec config.json (https://github.com/opencontainers/runtime-spec, config.md and
// config-linux.md), reduced to what Fleet writes and libfleetrt reads. Property names become the
// spec's camelCase names through OciConfigJsonContext; null members are left out of the JSON.

/// <summary>OciSpec is the root of an OCI runtime config (config.json).</summary>
public sealed record OciSpec
{
    /// <summary>Version is the runtime-spec version Fleet writes.</summary>
    public const string Version = "1.2.0";

    public string OciVersion { get; init; } = Version;

    public OciProcess? Process { get; init; }

    public OciRoot? Root { get; init; }

    public string? Hostname { get; init; }

    public IReadOnlyList<OciMount>? Mounts { get; init; }

    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    public OciLinux? Linux { get; init; }
}

/// <summary>OciProcess is the container's first process.</summary>
public sealed record OciProcess
{
    public bool Terminal { get; init; }

    public OciUser User { get; init; } = new();

    public IReadOnlyList<string> Args { get; init; } = [];

    public IReadOnlyList<string>? Env { get; init; }

    /// <summary>Cwd is absolute inside the container.</summary>
    public string Cwd { get; init; } = "/";

    public OciCapabilities? Capabilities { get; init; }

    public IReadOnlyList<OciRlimit>? Rlimits { get; init; }

    public bool NoNewPrivileges { get; init; }

    public int? OomScoreAdj { get; init; }
}

/// <summary>OciUser is the numeric identity the process runs as.</summary>
public sealed record OciUser
{
    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public uint? Umask { get; init; }

    public IReadOnlyList<uint>? AdditionalGids { get; init; }
}

/// <summary>OciCapabilities holds the five capability sets, as <c>CAP_*</c> names.</summary>
public sealed record OciCapabilities
{
    public IReadOnlyList<string>? Bounding { get; init; }

    public IReadOnlyList<string>? Effective { get; init; }

    public IReadOnlyList<string>? Inheritable { get; init; }

    public IReadOnlyList<string>? Permitted { get; init; }

    public IReadOnlyList<string>? Ambient { get; init; }
}

/// <summary>OciRlimit is one POSIX resource limit (<c>RLIMIT_NOFILE</c> …).</summary>
public sealed record OciRlimit(string Type, ulong Hard, ulong Soft);

/// <summary>OciRoot is the root filesystem; a relative path is relative to the bundle.</summary>
public sealed record OciRoot
{
    public string Path { get; init; } = "rootfs";

    public bool Readonly { get; init; }
}

/// <summary>OciMount is one mount, made in the order of the list.</summary>
public sealed record OciMount
{
    public required string Destination { get; init; }

    public string? Type { get; init; }

    public string? Source { get; init; }

    public IReadOnlyList<string>? Options { get; init; }
}

/// <summary>OciLinux holds the Linux-specific part of the config.</summary>
public sealed record OciLinux
{
    public IReadOnlyList<OciNamespace>? Namespaces { get; init; }

    public IReadOnlyList<OciDevice>? Devices { get; init; }

    public OciResources? Resources { get; init; }

    public string? CgroupsPath { get; init; }

    public IReadOnlyList<string>? MaskedPaths { get; init; }

    public IReadOnlyList<string>? ReadonlyPaths { get; init; }

    public IReadOnlyDictionary<string, string>? Sysctl { get; init; }

    public string? RootfsPropagation { get; init; }
}

/// <summary>OciNamespace asks for a new namespace of <see cref="Type"/>, or to join the one at <see cref="Path"/>.</summary>
public sealed record OciNamespace(string Type, string? Path = null);

/// <summary>OciDevice is a device node created in the container's /dev.</summary>
public sealed record OciDevice
{
    public required string Path { get; init; }

    public required string Type { get; init; }

    public long Major { get; init; }

    public long Minor { get; init; }

    public uint? FileMode { get; init; }

    public uint? Uid { get; init; }

    public uint? Gid { get; init; }
}

/// <summary>OciResources are the cgroup limits.</summary>
public sealed record OciResources
{
    public IReadOnlyList<OciDeviceRule>? Devices { get; init; }

    public OciMemory? Memory { get; init; }

    public OciCpu? Cpu { get; init; }

    public OciPids? Pids { get; init; }
}

/// <summary>OciDeviceRule is one device-cgroup allow/deny rule; null major/minor mean "any".</summary>
public sealed record OciDeviceRule
{
    public bool Allow { get; init; }

    public string? Type { get; init; }

    public long? Major { get; init; }

    public long? Minor { get; init; }

    public string? Access { get; init; }
}

/// <summary>OciMemory limits memory in bytes; <see cref="Swap"/> is memory plus swap.</summary>
public sealed record OciMemory
{
    public long? Limit { get; init; }

    public long? Reservation { get; init; }

    public long? Swap { get; init; }
}

/// <summary>OciCpu: CFS quota per period (microseconds) and relative shares.</summary>
public sealed record OciCpu
{
    public ulong? Shares { get; init; }

    public long? Quota { get; init; }

    public ulong? Period { get; init; }

    public string? Cpus { get; init; }

    public string? Mems { get; init; }
}

/// <summary>OciPids limits the number of tasks in the container's cgroup.</summary>
public sealed record OciPids(long Limit);
