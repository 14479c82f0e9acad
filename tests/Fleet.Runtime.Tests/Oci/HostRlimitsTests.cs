using System.Diagnostics;
using System.Globalization;
using Fleet.Runtime.Oci;

namespace Fleet.Runtime.Tests.Oci;

public sealed class HostRlimitsTests
{
    private static ulong ShellHardNofile()
    {
        using var sh = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "ulimit -Hn"]) { RedirectStandardOutput = true })!;
        var text = sh.StandardOutput.ReadToEnd().Trim();
        sh.WaitForExit();
        return text == "unlimited" ? ulong.MaxValue : ulong.Parse(text, CultureInfo.InvariantCulture);
    }

    [Fact]
    public void Hard_is_the_hosts_hard_limit()
    {
        Assert.Equal(ShellHardNofile(), HostRlimits.Hard("RLIMIT_NOFILE"));
    }

    [Fact]
    public void Limits_above_the_host_are_lowered_to_it_and_others_kept()
    {
        var host = HostRlimits.Hard("RLIMIT_NOFILE");
        var clamped = HostRlimits.Clamp([new OciRlimit("RLIMIT_NOFILE", ulong.MaxValue, ulong.MaxValue), new OciRlimit("RLIMIT_CORE", 0, 0)]);
        Assert.Equal(new OciRlimit("RLIMIT_NOFILE", host, host), clamped[0]);
        Assert.Equal(new OciRlimit("RLIMIT_CORE", 0, 0), clamped[1]);
    }

    [Fact]
    public void Unknown_rlimit_is_an_error_naming_it()
    {
        var error = Assert.Throws<OciConfigException>(() => HostRlimits.Hard("RLIMIT_BOGUS"));
        Assert.Contains("RLIMIT_BOGUS", error.Message, StringComparison.Ordinal);
    }
}
