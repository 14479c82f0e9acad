using System.Diagnostics;

namespace Fleet.Daemon.Tests;

/// <summary>
/// FleetdProcess runs the real fleetd apphost on free loopback ports with a data dir of the
/// test's choosing, and drives it with fleetctl in-process (<see cref="StartedFleetd"/>: log,
/// readiness, ending it by PID).
/// </summary>
internal sealed class FleetdProcess : StartedFleetd
{
    private FleetdProcess(Process process, int apiPort, int httpPort, int clusterPort)
        : base(process)
    {
        ApiPort = apiPort;
        HttpPort = httpPort;
        ClusterPort = clusterPort;
    }

    public int ApiPort { get; }

    public int HttpPort { get; }

    public int ClusterPort { get; }

    public override string Server => $"127.0.0.1:{ApiPort}";

    protected override Uri HealthUrl => new($"http://127.0.0.1:{HttpPort}/healthz");

    /// <summary>Start runs fleetd with the memory driver on fresh free ports; extra arguments go last.</summary>
    public static FleetdProcess Start(string dataDir, params string[] extra) =>
        Start(dataDir, new Dictionary<string, string>(), extra);

    /// <summary>Start runs fleetd as <see cref="Start(string, string[])"/> does, with <paramref name="environment"/> added to its environment.</summary>
    public static FleetdProcess Start(string dataDir, IReadOnlyDictionary<string, string> environment, params string[] extra)
    {
        var (api, http, cluster) = (TestPorts.Free(), TestPorts.Free(), TestPorts.Free());
        var info = StartInfo(Apphost);
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        string[] driver = extra.Contains("--driver") ? [] : ["--driver", "memory"];
        foreach (var arg in (string[])["--data-dir", dataDir, "--api-port", $"{api}", "--http-port", $"{http}", "--cluster-port", $"{cluster}", .. driver, "--log-format", "json", .. extra])
        {
            info.ArgumentList.Add(arg);
        }
        return new FleetdProcess(Run(info), api, http, cluster);
    }

    /// <summary>StartRaw runs fleetd with exactly <paramref name="args"/> (the ports must match them).</summary>
    public static FleetdProcess StartRaw(int api, int http, int cluster, params string[] args)
    {
        var info = StartInfo(Apphost);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        return new FleetdProcess(Run(info), api, http, cluster);
    }
}

/// <summary>TempDir is a directory removed when disposed.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("fleetd-test-").FullName;

    public string File(string name, string text)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
