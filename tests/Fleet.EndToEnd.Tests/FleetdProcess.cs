using System.Diagnostics;
using System.Globalization;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// FleetdProcess runs the real fleetd apphost with the ports, data dir and flags it is given
/// (<see cref="StartedFleetd"/>: log, readiness, ending it by PID). The ports are fixed by the
/// caller so a node can be killed and started again on the same addresses.
/// </summary>
internal sealed class FleetdProcess : StartedFleetd
{
    private FleetdProcess(Process process, NodePorts ports, string address)
        : base(process)
    {
        Ports = ports;
        Address = address;
    }

    public NodePorts Ports { get; }

    /// <summary>Address is where this fleetd listens (127.0.0.1 alone; 127.0.0.N for node N of a cluster on one machine).</summary>
    public string Address { get; }

    public override string Server => $"{Address}:{Ports.Api}";

    protected override Uri HealthUrl => new($"http://{Address}:{Ports.Http}/healthz");

    /// <summary>Start runs fleetd on <paramref name="ports"/> with <paramref name="dataDir"/>; extra arguments go last.</summary>
    /// <para>With <paramref name="netns"/> fleetd runs in that network namespace (nsenter execs it: same PID).</para>
    public static FleetdProcess Start(string dataDir, NodePorts ports, IEnumerable<string> extra, string address = "127.0.0.1", string? netns = null)
    {
        var info = StartInfo(netns is null ? Apphost : "nsenter");
        if (netns is not null)
        {
            info.ArgumentList.Add($"--net=/run/netns/{netns}");
            info.ArgumentList.Add(Apphost);
        }
        foreach (var arg in (string[])["--data-dir", dataDir, "--api-port", Num(ports.Api), "--http-port", Num(ports.Http), "--cluster-port", Num(ports.Cluster), "--log-format", "json", .. extra])
        {
            info.ArgumentList.Add(arg);
        }
        return new FleetdProcess(Run(info), ports, address);
    }

    /// <summary>Help is `fleetd --help`, to learn which optional flags this build has.</summary>
    public static string Help()
    {
        var info = StartInfo(Apphost);
        info.ArgumentList.Add("--help");
        using var process = Run(info);
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return text;
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>NodePorts are one fleetd's api, http and cluster ports.</summary>
internal sealed record NodePorts(int Api, int Http, int Cluster)
{
    public static NodePorts Free() => new(TestPorts.Free(), TestPorts.Free(), TestPorts.Free());
}
