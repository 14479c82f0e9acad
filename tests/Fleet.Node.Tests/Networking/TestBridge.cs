using System.Diagnostics;
using System.Security.Cryptography;
using Fleet.Node.Networking;

namespace Fleet.Node.Tests.Networking;

/// <summary>
/// TestBridge gives one test a unique bridge name (ft + 6 random characters), a random
/// 10.x.y.0/24 subnet and a private data directory; disposing tears the bridge and its rules
/// down and deletes the directory.
/// </summary>
internal sealed class TestBridge : IDisposable
{
    public TestBridge(string? subnet = null)
    {
        Assert.True(Environment.IsPrivilegedProcess, "the networking tests need root (bridges, iptables, netns)");
        Name = "ft" + RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz0123456789", 6);
        // 10.100-249.x.0/24: clear of Fleet's default 10.88.0.0/16 and of the host's own 10.255.x.
        Subnet = Ipv4Subnet.Parse(subnet ?? $"10.{RandomNumberGenerator.GetInt32(100, 250)}.{RandomNumberGenerator.GetInt32(0, 256)}.0/24");
        DataDir = Directory.CreateTempSubdirectory("fleet-net-").FullName;
        Paths = new NodePaths(DataDir);
    }

    public string Name { get; }

    public Ipv4Subnet Subnet { get; }

    public string DataDir { get; }

    public NodePaths Paths { get; }

    public BridgeNetworkOptions Options => new() { Bridge = Name, Subnet = Subnet };

    public BridgeNetwork Open() => new(Paths, Options);

    public void Dispose()
    {
        try
        {
            Open().TearDown();
        }
        finally
        {
            Directory.Delete(DataDir, recursive: true);
        }
    }

    /// <summary>Run runs a host tool and returns its standard output; a failure fails the test.</summary>
    public static string Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), $"{tool} {string.Join(' ', arguments)} did not finish");
        Assert.True(process.ExitCode == 0, $"{tool} {string.Join(' ', arguments)} failed: {error.Result}");
        return output.Result;
    }

    /// <summary>RulesMentioning lists the lines of `iptables [-t table] -S` that name this bridge.</summary>
    public IReadOnlyList<string> RulesMentioning(string table) =>
        Run("iptables", "-w", "-t", table, "-S").Split('\n').Where(l => l.Contains(Name, StringComparison.Ordinal)).ToList();
}
