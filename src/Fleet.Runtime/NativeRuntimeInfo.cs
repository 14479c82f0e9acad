using System.Runtime.InteropServices;
using Fleet.Runtime.Native;

namespace Fleet.Runtime;

/// <summary>NativeRuntimeInfo describes the libfleetrt build this process has loaded.</summary>
public static class NativeRuntimeInfo
{
    /// <summary>Version returns libfleetrt's "MAJOR.MINOR.PATCH" string.</summary>
    public static string Version =>
        Marshal.PtrToStringUTF8(NativeMethods.Version())
        ?? throw new InvalidOperationException("libfleetrt returned no version string");

    /// <summary>ShimPath is where fleet-shim sits: beside the assembly that ships it.</summary>
    public static string ShimPath => Path.Combine(AppContext.BaseDirectory, "fleet-shim");

    /// <summary>CliPath is where the fleetrt command line sits: beside the assemblies.</summary>
    public static string CliPath => Path.Combine(AppContext.BaseDirectory, "fleetrt");
}
