using System.Collections;
using System.Runtime.InteropServices;

namespace Fleet.Daemon;

/// <summary>
/// MemorySettings keeps an idle fleetd small with settings the runtime and the C library
/// read only from the environment, so fleetd sets them and executes itself again, once, before
/// anything else runs: same PID, same arguments, same open descriptors.
/// <list type="bullet">
/// <item>The garbage collector's young-generation budget, capped at 1 MB
/// (<c>DOTNET_GCgen0size</c>, <c>DOTNET_GCGen0MaxBudget</c>; runtimeconfig.json cannot set it).
/// An idle fleetd allocates only small, short-lived objects on its periodic rounds (the mesh's
/// questions to the controller, agent reports, cluster gossip); the default budget, sized from
/// the CPU's L3 cache and allowed to grow far beyond it when almost nothing survives, only keeps
/// that garbage in memory: measured here, RSS climbed from ≈ 110 MB to ≈ 135 MB over the first
/// five idle minutes, ≈ 16 MB of it dead young objects. A 4 MB cap held the committed heap at
/// 8 MB; 2 MB took another 2–4 MB off idle RSS (two paired five-minute runs), 1 MB another
/// 0.6 MB, for a young collection about every 15 s at idle (≈ 70 KB/s allocated). Under load
/// collections are more frequent but each is as cheap (its cost follows what survives): the
/// mesh bench, three rounds each, read the same requests/s and fleetd CPU with 1 MB as with 2.</item>
/// <item>At most two glibc malloc arenas (<c>MALLOC_ARENA_MAX</c>): each thread that allocates
/// natively (the JIT's background compiles above all) otherwise gets an arena of its own, which
/// keeps the memory freed into it (≈ 6 MB at idle here; with two arenas, ≈ 3 MB less).</item>
/// <item>Blocks of 64 KiB and more straight from the kernel (<c>MALLOC_MMAP_THRESHOLD_</c>), given back
/// when freed. Start-up (JIT, type loading, OpenSSL, SQLite) peaks at ≈ 10 MB of native heap and
/// leaves ≈ 4.6 MB live (measured with heaptrack), scattered through the arenas so that the free
/// pages between the live blocks cannot be returned. glibc's own threshold starts at 128 KiB and
/// rises each time such a block is freed, so the JIT's 64 KiB working blocks and most larger
/// ones are carved from the arenas. Measured at idle: arenas 8.8 → 4.4 MB.</item>
/// </list>
/// A variable the user set (to any value) is kept as it is — either GC variable keeps both GC
/// settings as the user has them — and nothing is re-executed when nothing is missing or
/// <c>FLEET_MEMORY_DEFAULTS=1</c> is set.
/// </summary>
internal static class MemorySettings
{
    /// <summary>Gen0SizeVariable is the runtime's environment variable for the smallest young-generation budget.</summary>
    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    /// <summary>Gen0MaxBudgetVariable is the runtime's environment variable for the largest young-generation budget.</summary>
    public const string Gen0MaxBudgetVariable = "DOTNET_GCGen0MaxBudget";

    /// <summary>MallocArenasVariable is glibc's environment variable for the most malloc arenas.</summary>
    public const string MallocArenasVariable = "MALLOC_ARENA_MAX";

    /// <summary>MmapThresholdVariable is glibc's environment variable for the smallest block malloc maps on its own.</summary>
    public const string MmapThresholdVariable = "MALLOC_MMAP_THRESHOLD_";

    /// <summary>DefaultsVariable, set to 1, leaves the runtime's and the C library's own settings alone.</summary>
    public const string DefaultsVariable = "FLEET_MEMORY_DEFAULTS";

    /// <summary>Budget is the cap, as the runtime reads it (hexadecimal bytes): 1 MiB.</summary>
    public const string Budget = "0x100000";

    /// <summary>MallocArenas is the number of malloc arenas.</summary>
    public const string MallocArenas = "2";

    /// <summary>MmapThreshold is the smallest block malloc maps on its own: 64 KiB.</summary>
    public const string MmapThreshold = "65536";

    /// <summary>
    /// Apply re-executes fleetd with the missing settings, or returns when none is missing, when
    /// the user chose the defaults, or when re-executing is not possible (then fleetd runs with
    /// the defaults: only its memory differs).
    /// </summary>
    public static void Apply()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(DefaultsVariable) == "1")
        {
            return;
        }
        var missing = new List<string>();
        if (Environment.GetEnvironmentVariable(Gen0SizeVariable) is null && Environment.GetEnvironmentVariable(Gen0MaxBudgetVariable) is null)
        {
            missing.Add($"{Gen0SizeVariable}={Budget}");
            missing.Add($"{Gen0MaxBudgetVariable}={Budget}");
        }
        if (Environment.GetEnvironmentVariable(MallocArenasVariable) is null)
        {
            missing.Add($"{MallocArenasVariable}={MallocArenas}");
        }
        if (Environment.GetEnvironmentVariable(MmapThresholdVariable) is null)
        {
            missing.Add($"{MmapThresholdVariable}={MmapThreshold}");
        }
        if (missing.Count == 0)
        {
            return;
        }
        string[] argv;
        try
        {
            // The command line exactly as the kernel started this process (the apphost, or dotnet
            // and fleetd.dll), which /proc/self/exe then runs again.
            argv = File.ReadAllText("/proc/self/cmdline").TrimEnd('\0').Split('\0');
        }
        catch (IOException)
        {
            return;
        }
        var environment = new List<string>();
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{variable.Key}={variable.Value}");
        }
        environment.AddRange(missing);
        RemoveDiagnosticsEndpoint();
        Exec("/proc/self/exe", argv, environment);
        // Only a failed execve returns: run on with the defaults.
    }

    /// <summary>
    /// RemoveDiagnosticsEndpoint removes this runtime's diagnostics socket (what dotnet-counters,
    /// dotnet-trace and dotnet-dump connect to). It is named after the PID and the process's start
    /// time, which an exec keeps, so the next runtime could not listen there while it exists.
    /// </summary>
    private static void RemoveDiagnosticsEndpoint()
    {
        try
        {
            foreach (var socket in Directory.EnumerateFiles(Path.GetTempPath(), $"dotnet-diagnostic-{Environment.ProcessId}-*-socket"))
            {
                File.Delete(socket);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only the diagnostics tools would miss it.
        }
    }

    private static void Exec(string path, IReadOnlyList<string> argv, IReadOnlyList<string> environment)
    {
        var strings = new List<IntPtr>();
        try
        {
            IntPtr[] Terminated(IReadOnlyList<string> values)
            {
                var pointers = new IntPtr[values.Count + 1];
                for (var i = 0; i < values.Count; i++)
                {
                    pointers[i] = Marshal.StringToCoTaskMemUTF8(values[i]);
                    strings.Add(pointers[i]);
                }
                return pointers;
            }
            _ = ExecVe(path, Terminated(argv), Terminated(environment));
        }
        finally
        {
            foreach (var pointer in strings)
            {
                Marshal.FreeCoTaskMem(pointer);
            }
        }
    }

    // DllImport, not LibraryImport: the project has no unsafe code.
    [DllImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static extern int ExecVe([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr[] argv, IntPtr[] envp);
}
