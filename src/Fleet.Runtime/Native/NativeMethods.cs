using System.Runtime.InteropServices;

namespace Fleet.Runtime.Native;

/// <summary>
/// NativeMethods binds libfleetrt.so (built from src/native and copied beside this assembly).
/// Every entry point here mirrors a declaration in src/native/include/fleetrt.h.
/// </summary>
/// <remarks>
/// fleetrt_container_create is deliberately not bound: it forks, and a fork of the multithreaded
/// CLR that runs anything but exec can deadlock. Containers are created by fleet-shim, which the
/// runtime spawns (<see cref="NativeContainerRuntime.CreateAsync"/>).
/// </remarks>
internal static partial class NativeMethods
{
    /// <summary>LibraryName is resolved by the runtime as libfleetrt.so in the app directory.</summary>
    internal const string LibraryName = "fleetrt";

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_version")]
    internal static partial IntPtr Version();

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_error_errno")]
    internal static partial int ErrorErrno(FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_error_message")]
    internal static partial IntPtr ErrorMessage(FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_error_free")]
    internal static partial void ErrorFree(IntPtr err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_free")]
    internal static partial void Free(IntPtr p);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_start", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerStart(string stateRoot, string id, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_state_json", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerStateJson(string stateRoot, string id, out FleetrtStringHandle json, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_kill", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerKill(string stateRoot, string id, int signal, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_delete", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerDelete(string stateRoot, string id, int force, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_pause", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerPause(string stateRoot, string id, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_resume", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerResume(string stateRoot, string id, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_stats_json", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerStatsJson(string stateRoot, string id, out FleetrtStringHandle json, out FleetrtErrorHandle err);

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_container_list_json", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int ContainerListJson(string stateRoot, out FleetrtStringHandle json, out FleetrtErrorHandle err);
}
