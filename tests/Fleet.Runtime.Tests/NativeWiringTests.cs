using System.Diagnostics;

namespace Fleet.Runtime.Tests;

/// <summary>
/// These prove the build wiring: CMake ran inside the .NET build, and its three outputs landed
/// beside the assemblies, loadable and runnable.
/// </summary>
public sealed class NativeWiringTests
{
    [Fact]
    public void Native_library_loads_through_PInvoke_and_reports_its_version()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", NativeRuntimeInfo.Version);
    }

    [Theory]
    [InlineData("fleetrt", "fleetrt version ")]
    [InlineData("fleet-shim", "fleet-shim version ")]
    public void Native_executable_sits_beside_the_assemblies_and_runs(string name, string expectedPrefix)
    {
        var path = Path.Combine(AppContext.BaseDirectory, name);
        Assert.True(File.Exists(path), $"{path} was not copied beside the assemblies");

        using var process = Process.Start(new ProcessStartInfo(path, "--version")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(expectedPrefix + NativeRuntimeInfo.Version, output.Trim());
    }
}
