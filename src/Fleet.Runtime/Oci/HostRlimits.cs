using System.Runtime.InteropServices;

namespace Fleet.Runtime.Oci;

/// <summary>
/// HostRlimits keeps requested rlimits within what this host allows: without CAP_SYS_RESOURCE
/// (root here lacks it) a hard limit cannot be raised above the runtime's own, and the container
/// would fail to start. Podman's default nofile of 1048576 fails exactly so on these machines.
/// </summary>
public static partial class HostRlimits
{
    // Linux resource numbers, by the OCI names (RLIMIT_*).
    private static readonly Dictionary<string, int> Resources = new(StringComparer.Ordinal)
    {
        ["RLIMIT_CPU"] = 0, ["RLIMIT_FSIZE"] = 1, ["RLIMIT_DATA"] = 2, ["RLIMIT_STACK"] = 3,
        ["RLIMIT_CORE"] = 4, ["RLIMIT_RSS"] = 5, ["RLIMIT_NPROC"] = 6, ["RLIMIT_NOFILE"] = 7,
        ["RLIMIT_MEMLOCK"] = 8, ["RLIMIT_AS"] = 9, ["RLIMIT_LOCKS"] = 10, ["RLIMIT_SIGPENDING"] = 11,
        ["RLIMIT_MSGQUEUE"] = 12, ["RLIMIT_NICE"] = 13, ["RLIMIT_RTPRIO"] = 14, ["RLIMIT_RTTIME"] = 15,
    };

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Soft;
        public ulong Hard;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRlimit(int resource, out RLimit limit);

    /// <summary>Hard is this process's hard limit for an OCI rlimit name (<c>RLIMIT_NOFILE</c>).</summary>
    public static ulong Hard(string type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!Resources.TryGetValue(type, out var resource))
        {
            throw new OciConfigException($"unknown rlimit `{type}`");
        }
        if (GetRlimit(resource, out var limit) != 0)
        {
            throw new OciConfigException($"getrlimit {type}: errno {Marshal.GetLastPInvokeError()}");
        }
        return limit.Hard;
    }

    /// <summary>Clamp lowers every hard (and soft) limit above the host's hard limit to it.</summary>
    public static IReadOnlyList<OciRlimit> Clamp(IReadOnlyList<OciRlimit> rlimits)
    {
        ArgumentNullException.ThrowIfNull(rlimits);
        return rlimits.Select(r =>
        {
            var hard = Math.Min(r.Hard, Hard(r.Type));
            return r with { Hard = hard, Soft = Math.Min(r.Soft, hard) };
        }).ToList();
    }
}
