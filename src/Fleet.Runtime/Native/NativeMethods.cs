using System.Runtime.InteropServices;

namespace Fleet.Runtime.Native;

/// <summary>
/// NativeMethods binds libfleetrt.so (built from src/native and copied beside this assembly).
/// Every entry point here mirrors a declaration in src/native/include/fleetrt.h.
/// </summary>
internal static partial class NativeMethods
{
    /// <summary>LibraryName is resolved by the runtime as libfleetrt.so in the app directory.</summary>
    internal const string LibraryName = "fleetrt";

    [LibraryImport(LibraryName, EntryPoint = "fleetrt_version")]
    internal static partial IntPtr Version();
}
