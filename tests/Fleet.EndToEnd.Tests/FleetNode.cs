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

    private FleetNode(string driver, IEnumerable<string> extra, string? root = null, string address = "127.0.0.1", string name = "local", string? netns = null)
    {
        Netns = netns;
        Prefix = "ft" + Guid.NewGuid().ToString("N")[..6];
        Root = root ?? Directory.CreateTempSubdirectory("fleet-e2e-").FullName;
        Directory.CreateDirectory(Root);
        DataDir = Path.Combine(Root, "data");
        Ports = NodePorts.Free();
        Address = address;
        Name = name;
        Driver = driver;
        // 10.(100..227).(0..255).0/24: unlikely to meet another test's or the host's subnet.
        Subnet = $"10.{100 + Random.Shared.Next(128)}.{Random.Shared.Next(256)}.0/24";
        _extra = [.. extra];
    }

    /// <summary>Driver is --driver for this node: FLEET_E2E_DRIVER, else container (real containers).</summary>
    public static string DefaultDriver => Environment.GetEnvironmentVariable("FLEET_E2E_DRIVER") is { Length: > 0 } d ? d : "container";

    public string Prefix { get; }

    /// <summary>Name is the node's name: `local` alone (fleetd's default), node1.. in a <see cref="Cluster.FleetCluster"/>.</summary>
    public string Name { get; }

    /// <summary>Address is where this node's fleetd listens: 127.0.0.1 alone, 127.0.0.N as node N of a cluster.</summary>
    public string Address { get; }

    public string Root { get; }

    public string DataDir { get; }

    public NodePorts Ports { get; }

    public string Driver { get; }

    /// <summary>Bridge is this node's bridge name (≤ 15 chars) when fleetd takes --bridge.</summary>
    public string Bridge => Prefix + "br";

    public string Subnet { get; }

    public bool RealContainers => Driver == "container";

    public FleetdProcess Fleetd => _fleetd ?? throw new InvalidOperationException("fleetd is not running");

    public string Server => $"{Address}:{Ports.Api}";

    public string RegistryHost => $"{Address}:{Ports.Http}";

    /// <summary>MeshState is what the node says of its routing mesh (its /metrics lines), for failure messages.</summary>
    public string MeshState()
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var metrics = http.GetStringAsync(new Uri($"http://{RegistryHost}/metrics")).GetAwaiter().GetResult();
            return string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("fleet_mesh_", StringComparison.Ordinal)));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return $"(no /metrics: {e.Message})";
        }
    }

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

    /// <summary>Member makes (but does not start) node <paramref name="name"/> of a cluster, in <paramref name="root"/>.</summary>
    internal static FleetNode Member(string driver, string root, string address, string name, IEnumerable<string> extra, string? netns = null) =>
        new(driver, extra, root, address, name, netns);

    /// <summary>Netns is the network namespace fleetd runs in (a node of a <see cref="Cluster.TestLan"/>), or null for the machine's own.</summary>
    public string? Netns { get; }

    /// <summary>RunNet runs a network tool (ip, iptables) where this node's network is: in its namespace, if it has one.</summary>
    internal (int Code, string Output) RunNet(string file, params string[] args) =>
        Netns is null ? Run(file, args) : Run("ip", ["netns", "exec", Netns, file, .. args]);

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
        // LaunchFleetd disposes the old process after asking it whether it still runs.
        LaunchFleetd();
        _fleetd!.WaitReady();
    }

    /// <summary>LaunchFleetd starts fleetd without waiting for it (a cluster starts every node, then waits).</summary>
    internal void LaunchFleetd()
    {
        if (_fleetd is { HasExited: false })
        {
            throw new InvalidOperationException("fleetd is already running");
        }
        _fleetd?.Dispose();
        _fleetd = FleetdProcess.Start(DataDir, Ports, ["--driver", Driver, .. NetworkFlags(), .. _extra], Address, Netns);
    }

    /// <summary>
    /// KillMachine is what a machine losing power looks like to the rest of the cluster: kill -9
    /// of fleetd and of every process it started (shims, containers), by PID. Mounts, cgroups
    /// and runtime state stay, as they would on disk, for the next fleetd to find.
    /// </summary>
    public void KillMachine()
    {
        Fleetd.KillHard();
        foreach (var pid in Leftovers.ProcessesOf(Root))
        {
            _ = Run("kill", "-KILL", Num(pid));
        }
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
    public IReadOnlyList<ReplicaView> WaitHealthy(string service, int count, TimeSpan? timeout = null) =>
        WaitHealthy(() => this, Replicas, () => $"--- fleetd log tail\n{LogTail()}", service, count, timeout ?? TimeSpan.FromSeconds(90));

    /// <summary>Eventually polls <paramref name="condition"/> until it holds, else fails with <paramref name="what"/> and the log tail.</summary>
    public void Eventually(Func<bool> condition, Func<string> what, TimeSpan timeout) =>
        Eventually(condition, what, () => $"--- fleetd log tail\n{LogTail()}", timeout);

    /// <summary>Eventually polls <paramref name="condition"/> every 300 ms until it holds, else fails with <paramref name="what"/> and <paramref name="logs"/>.</summary>
    internal static void Eventually(Func<bool> condition, Func<string> what, Func<string> logs, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {timeout.TotalSeconds:0}s waiting for {what()}\n{logs()}");
            }
            Thread.Sleep(300);
        }
    }

    /// <summary>
    /// WaitHealthy waits until <paramref name="list"/> shows exactly <paramref name="count"/>
    /// replicas of <paramref name="service"/>, all healthy; on time-out it fails with what
    /// <paramref name="node"/> (asked anew, it may change) says of them and <paramref name="logs"/>.
    /// </summary>
    internal static IReadOnlyList<ReplicaView> WaitHealthy(
        Func<FleetNode> node, Func<string?, IReadOnlyList<ReplicaView>> list, Func<string> logs, string service, int count, TimeSpan timeout)
    {
        IReadOnlyList<ReplicaView> replicas = [];
        Eventually(
            () =>
            {
                replicas = list(service);
                return replicas.Count == count && replicas.All(r => r.State == "healthy");
            },
            () => $"{count} healthy replicas of {service}; now:\n{node().Ctl("get", "replicas", "-o", "wide").Stdout}\n{node().Ctl("describe", "service", service).Stdout}",
            logs,
            timeout);
        return replicas;
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

    public void Dispose() => Shutdown(deleteServices: true, servicesDeleted: false);

    /// <summary>
    /// Shutdown stops fleetd and sweeps what is left. A lone node deletes every service first; a
    /// cluster deletes them once through one node and says whether that worked
    /// (<paramref name="servicesDeleted"/>), since after it anything left is fleetd's fault.
    /// </summary>
    internal void Shutdown(bool deleteServices, bool servicesDeleted)
    {
        var problems = new List<string>();
        // Only after fleetd itself deleted every service is anything left over its fault; a test
        // that failed while fleetd was down leaves containers that are just swept.
        var deletedByFleetd = servicesDeleted && _fleetd is { HasExited: false };
        if (_fleetd is { HasExited: false } fleetd)
        {
            if (deleteServices)
            {
                deletedByFleetd = DeleteEveryService(problems);
            }
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

    /// <summary>Remember adds replica ids seen elsewhere (a cluster's listing) to those swept from this node.</summary>
    internal void Remember(IEnumerable<string> replicaIds)
    {
        lock (_replicaIds)
        {
            _replicaIds.UnionWith(replicaIds);
        }
    }

    internal bool DeleteEveryService(List<string> problems)
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
            WaitRuntimeEmpty();
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            problems.Add($"deleting services failed: {e.Message}");
            return false;
        }
    }

    /// <summary>WaitRuntimeEmpty gives the runtime up to 30 s to lose the containers of deleted replicas (gone from the list is not gone from the runtime).</summary>
    internal void WaitRuntimeEmpty()
    {
        if (!RealContainers)
        {
            return;
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Directory.Exists(Runtime().StateRoot) && Runtime().List().Count > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(300);
        }
    }

    internal static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    [LibraryImport("libc", EntryPoint = "umount2", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Umount2(string target, int flags);

    /// <summary>
    /// Run runs a host tool and returns its exit code and output. It runs in / so that tools run
    /// as another user (runuser -u postgres) can enter their working directory.
    /// </summary>
    internal static (int Code, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/" };
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
