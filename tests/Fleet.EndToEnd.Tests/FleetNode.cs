using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Fleet.Cli;
using Fleet.Runtime;

namespace Fleet.EndToEnd.Tests;

/// <summary>
/// FleetNode is one single-node Fleet under test: a private directory (/tmp/fleet-e2e-*) with the
/// data dir, free ports, a unique bridge name and subnet (when this fleetd has flags for them)
/// and the fleetd process, which can be killed and started again on the same data and ports.
/// Dispose deletes every service, stops fleetd by PID, then checks that nothing is left behind
/// (containers, shims, mounts, cgroups, the bridge, iptables rules), sweeps whatever is and fails
/// the test if a replica's container, process or mount outlived `delete service`.
/// </summary>
internal sealed partial class FleetNode : IDisposable
{
    private static readonly Lazy<string> FleetdHelp = new(FleetdProcess.Help);
    private readonly HashSet<string> _replicaIds = [];
    private readonly List<string> _extra;
    private FleetdProcess? _fleetd;

    private FleetNode(string driver, IEnumerable<string> extra)
    {
        Prefix = "ft" + Guid.NewGuid().ToString("N")[..6];
        Root = Directory.CreateTempSubdirectory("fleet-e2e-").FullName;
        DataDir = Path.Combine(Root, "data");
        Ports = NodePorts.Free();
        Driver = driver;
        // 10.(100..227).(0..255).0/24: unlikely to meet another test's or the host's subnet.
        Subnet = $"10.{100 + Random.Shared.Next(128)}.{Random.Shared.Next(256)}.0/24";
        _extra = [.. extra];
    }

    /// <summary>Driver is --driver for this node: FLEET_E2E_DRIVER, else container (real containers).</summary>
    public static string DefaultDriver => Environment.GetEnvironmentVariable("FLEET_E2E_DRIVER") is { Length: > 0 } d ? d : "container";

    public string Prefix { get; }

    public string Root { get; }

    public string DataDir { get; }

    public NodePorts Ports { get; }

    public string Driver { get; }

    /// <summary>Bridge is this node's bridge name (≤ 15 chars) when fleetd takes --bridge.</summary>
    public string Bridge => Prefix + "br";

    public string Subnet { get; }

    public bool RealContainers => Driver == "container";

    public FleetdProcess Fleetd => _fleetd ?? throw new InvalidOperationException("fleetd is not running");

    public string Server => $"127.0.0.1:{Ports.Api}";

    public string RegistryHost => $"127.0.0.1:{Ports.Http}";

    /// <summary>Start makes a node and waits until its fleetd answers.</summary>
    public static FleetNode Start(string? driver = null, params string[] extra)
    {
        var node = new FleetNode(driver ?? DefaultDriver, extra);
        try
        {
            node.StartFleetd();
            return node;
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    /// <summary>NetworkFlags are --bridge/--subnet when this fleetd build has them (the net work adds them).</summary>
    public IEnumerable<string> NetworkFlags()
    {
        var help = FleetdHelp.Value;
        if (help.Contains("--bridge", StringComparison.Ordinal))
        {
            yield return "--bridge";
            yield return Bridge;
        }
        if (help.Contains("--subnet", StringComparison.Ordinal))
        {
            yield return "--subnet";
            yield return Subnet;
        }
    }

    /// <summary>StartFleetd starts fleetd on this node's data dir and ports (again, after a kill).</summary>
    public void StartFleetd()
    {
        if (_fleetd is { HasExited: false })
        {
            throw new InvalidOperationException("fleetd is already running");
        }
        _fleetd?.Dispose();
        _fleetd = FleetdProcess.Start(DataDir, Ports, ["--driver", Driver, .. NetworkFlags(), .. _extra]);
        _fleetd.WaitReady();
    }

    /// <summary>KillFleetd is kill -9 of fleetd; its containers are left to their shims.</summary>
    public void KillFleetd() => Fleetd.KillHard();

    /// <summary>Ctl runs fleetctl against this node.</summary>
    public CliResult Ctl(params string[] args) => CliResult.Run([.. args, "--server", Server]);

    /// <summary>CtlOk runs fleetctl and fails the test (with fleetd's log tail) unless it exits 0.</summary>
    public CliResult CtlOk(params string[] args)
    {
        var result = Ctl(args);
        Assert.True(result.ExitCode == ExitCodes.Ok, $"fleetctl {string.Join(' ', args)}: {result}\n--- fleetd log tail\n{LogTail()}");
        return result;
    }

    public JsonElement Json(params string[] args) => JsonDocument.Parse(CtlOk([.. args, "-o", "json"]).Stdout).RootElement.Clone();

    /// <summary>Replicas lists `get replicas -o json` (of one service when given).</summary>
    public IReadOnlyList<ReplicaView> Replicas(string? service = null)
    {
        var json = service is null ? Json("get", "replicas") : Json("get", "replicas", "--service", service);
        var list = json.EnumerateArray().Select(ReplicaView.From).ToList();
        lock (_replicaIds)
        {
            _replicaIds.UnionWith(list.Select(r => r.Id));
        }
        return list;
    }

    /// <summary>Service is one entry of `get services -o json`, or null.</summary>
    public JsonElement? Service(string name) =>
        Json("get", "services").EnumerateArray().Where(s => s.GetProperty("name").GetString() == name).Select(s => (JsonElement?)s).FirstOrDefault();

    /// <summary>WaitHealthy waits until <paramref name="service"/> has exactly <paramref name="count"/> replicas, all healthy.</summary>
    public IReadOnlyList<ReplicaView> WaitHealthy(string service, int count, TimeSpan? timeout = null)
    {
        IReadOnlyList<ReplicaView> replicas = [];
        Eventually(() =>
        {
            replicas = Replicas(service);
            return replicas.Count == count && replicas.All(r => r.State == "healthy");
        }, () => $"{count} healthy replicas of {service}; now:\n{Ctl("get", "replicas", "-o", "wide").Stdout}\n{Ctl("describe", "service", service).Stdout}", timeout ?? TimeSpan.FromSeconds(90));
        return replicas;
    }

    /// <summary>Eventually polls <paramref name="condition"/> until it holds, else fails with <paramref name="what"/> and the log tail.</summary>
    public void Eventually(Func<bool> condition, Func<string> what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:0}s waiting for {what()}\n--- fleetd log tail\n{LogTail()}");
            }
            Thread.Sleep(300);
        }
    }

    public string LogTail(int lines = 40) =>
        _fleetd is null ? "(no fleetd)" : string.Join('\n', _fleetd.Log.Split('\n').TakeLast(lines));

    /// <summary>File writes a file in the node's private directory and returns its path.</summary>
    public string File(string name, string text)
    {
        var path = Path.Combine(Root, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Runtime is the container runtime over this node's state root, to look at containers from outside.</summary>
    public NativeContainerRuntime Runtime() =>
        new(new NativeContainerRuntimeOptions { StateRoot = new Fleet.Node.NodePaths(DataDir).RuntimeRoot });

    /// <summary>ContainerPid is the pid of a replica's container process, read from the runtime's state.</summary>
    public int ContainerPid(string replicaId) => Runtime().State(replicaId).Pid;

    public void Dispose()
    {
        var problems = new List<string>();
        // Only after fleetd itself deleted every service is anything left over its fault; a test
        // that failed while fleetd was down leaves containers that are just swept.
        var deletedByFleetd = false;
        if (_fleetd is { HasExited: false } fleetd)
        {
            deletedByFleetd = DeleteEveryService(problems);
            var code = fleetd.Terminate(TimeSpan.FromSeconds(60));
            if (code != 0)
            {
                problems.Add($"fleetd exited with {code} on SIGTERM");
            }
        }
        _fleetd?.Dispose();
        var leftovers = new List<string>();
        Leftovers.Sweep(this, _replicaIds, leftovers);
        problems.AddRange(deletedByFleetd ? leftovers : leftovers.Where(l => l.StartsWith("cannot", StringComparison.Ordinal)));
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("cleanup found:\n  " + string.Join("\n  ", problems) + $"\n--- fleetd log tail\n{LogTail(60)}");
        }
    }

    private bool DeleteEveryService(List<string> problems)
    {
        try
        {
            foreach (var service in Json("get", "services").EnumerateArray().Select(s => s.GetProperty("name").GetString()!))
            {
                Ctl("delete", "service", service);
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (Replicas().Count > 0)
            {
                if (DateTime.UtcNow > deadline)
                {
                    problems.Add($"replicas still listed 60s after every service was deleted:\n{Ctl("get", "replicas").Stdout}");
                    return false;
                }
                Thread.Sleep(300);
            }
            if (RealContainers)
            {
                // A deleted replica is gone from the runtime too, not only from the list.
                var runtimeDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
                while (Directory.Exists(Runtime().StateRoot) && Runtime().List().Count > 0 && DateTime.UtcNow < runtimeDeadline)
                {
                    Thread.Sleep(300);
                }
            }
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add($"deleting services failed: {e.Message}");
            return false;
        }
    }

    internal static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Umount2(string target, int flags);

    /// <summary>Run runs a host tool and returns its exit code and output.</summary>
    internal static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error);
    }
}

/// <summary>ReplicaView is one replica of `get replicas -o json`.</summary>
internal sealed record ReplicaView(string Id, string Service, string Node, string State, string Health, string? Ip, DateTimeOffset? StartedAt, int Restarts, string? Reason)
{
    public static ReplicaView From(JsonElement e) => new(
        e.GetProperty("id").GetString()!,
        e.GetProperty("service").GetString()!,
        e.GetProperty("node").GetString()!,
        e.GetProperty("state").GetString()!,
        e.GetProperty("health").GetString()!,
        e.GetProperty("ip").ValueKind == JsonValueKind.String ? e.GetProperty("ip").GetString() : null,
        e.GetProperty("startedAt").ValueKind == JsonValueKind.String ? DateTimeOffset.Parse(e.GetProperty("startedAt").GetString()!, CultureInfo.InvariantCulture) : null,
        e.GetProperty("restarts").GetInt32(),
        e.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null);
}
