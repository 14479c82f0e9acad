using System.Runtime.InteropServices;

namespace Fleet.Runtime.Native;

/// <summary>
/// NativeLibraryProbe checks that the libfleetrt this process loads exports what the binding
/// needs, so a stale or partial library fails with a list of what is missing rather than an
/// EntryPointNotFoundException in the middle of an operation.
/// </summary>
public static class NativeLibraryProbe
{
    /// <summary>RequiredExports are the C functions Fleet.Runtime and fleet-shim rely on.</summary>
    public static readonly IReadOnlyList<string> RequiredExports =
    [
        "fleetrt_version",
        "fleetrt_error_errno",
        "fleetrt_error_message",
        "fleetrt_error_free",
        "fleetrt_free",
        "fleetrt_container_create",
        "fleetrt_container_start",
        "fleetrt_container_state_json",
        "fleetrt_container_kill",
        "fleetrt_container_delete",
        "fleetrt_container_pause",
        "fleetrt_container_resume",
        "fleetrt_container_stats_json",
        "fleetrt_container_list_json",
    ];

    /// <summary>MissingExports lists the required exports the library lacks; all of them when it does not load.</summary>
    public static IReadOnlyList<string> MissingExports()
    {
        if (!NativeLibrary.TryLoad(NativeMethods.LibraryName, typeof(NativeLibraryProbe).Assembly, null, out var library))
        {
            return RequiredExports;
        }
        try
        {
            return RequiredExports.Where(name => !NativeLibrary.TryGetExport(library, name, out _)).ToList();
        }
        finally
        {
            NativeLibrary.Free(library);
        }
    }
}
