using System.Diagnostics;
using System.Runtime.Versioning;
using Fleet.Core.Oci;

namespace Fleet.Runtime.Tests.Native;

/// <summary>
/// RuncParityTests run a bundle written by OciConfigBuilder under runc, the reference OCI
/// runtime (Debian's, the benchmark peer), so the config is known to be valid OCI and Docker's
/// defaults hold outside libfleetrt too. They need `runc` on PATH and fail — never skip — without it.
/// </summary>
[Trait("Requires", "runc")]
[SupportedOSPlatform("linux")]
public sealed class RuncParityTests : IDisposable
{
    private readonly NativeSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static string Runc()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/usr/bin"))
        {
            var path = Path.Combine(dir, "runc");
            if (File.Exists(path))
            {
                return path;
            }
        }
        Assert.Fail("runc is not installed (apt-get install -y runc): this test checks the built config.json under the reference runtime");
        return "";
    }

    [Fact]
    public async Task Built_config_runs_under_runc_with_Dockers_defaults()
    {
        var runc = Runc();
        var bundle = _sandbox.Bundle(
            "runc",
            ["/bin/sh", "-c", "id -u > /out/uid; hostname > /out/hostname; grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status > /out/status; "
                + "cat /proc/sys/net/ipv4/ip_unprivileged_port_start > /out/port; wc -c < /proc/timer_list > /out/timer_list; ls /dev > /out/dev"],
            image: new ImageConfig { WorkingDir = "/tmp" },
            networkSysctls: true);

        using var process = Process.Start(new ProcessStartInfo(runc, ["--root", Path.Combine(_sandbox.Root, "runc-state"), "run", _sandbox.Id("runc")])
        {
            WorkingDirectory = bundle,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"runc refused the bundle: {stderr}");

        string Read(string file) => File.ReadAllText(Path.Combine(_sandbox.Out("runc"), file)).Trim();
        Assert.Equal("0", Read("uid"));
        Assert.Equal("host-runc", Read("hostname"));
        Assert.Contains("CapEff:\t00000000a80425fb", Read("status"), StringComparison.Ordinal);
        Assert.Contains("CapBnd:\t00000000a80425fb", Read("status"), StringComparison.Ordinal);
        Assert.Contains("NoNewPrivs:\t0", Read("status"), StringComparison.Ordinal);
        Assert.Equal("0", Read("port"));
        Assert.Equal("0", Read("timer_list"));
        var dev = Read("dev").Split('\n');
        Assert.All(new[] { "null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm", "mqueue" }, d => Assert.Contains(d, dev));
    }
}
