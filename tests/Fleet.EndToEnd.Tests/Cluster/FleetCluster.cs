using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>FleetClusterOptions shape a <see cref="FleetCluster"/>: how many nodes, which driver, roles, labels, persistence.</summary>
internal sealed record FleetClusterOptions
{
    public int Nodes { get; init; } = 3;

    /// <summary>Driver is --driver of every node (default: FLEET_E2E_DRIVER, else real containers).</summary>
    public string Driver { get; init; } = FleetNode.DefaultDriver;

    /// <summary>Roles of node i (0-based) as in cluster.yaml; default: every node control-plane and worker.</summary>
    public Func<int, string> Roles { get; init; } = _ => "[control-plane, worker]";

    /// <summary>Labels of node i (0-based) as a YAML flow mapping; default `{ zone: z1 }`, `{ zone: z2 }`, ...</summary>
    public Func<int, string> Labels { get; init; } = i => $"{{ zone: z{i + 1} }}";

    /// <summary>Persistence is the cluster file's `persistence:` block body (indented two spaces), default sqlite.</summary>
    public string Persistence { get; init; } = "  provider: sqlite\n";

    /// <summary>Extra fleetd arguments, for every node.</summary>
    public IReadOnlyList<string> Extra { get; init; } = [];

    /// <summary>
    /// Lan puts every node in a network namespace of its own on a test LAN (<see cref="TestLan"/>),
    /// as if on its own machine, instead of 127.0.0.N: for tests that pull a node's cable.
    /// </summary>
    public bool Lan { get; init; }

    /// <summary>Launched, when set, is called right after each node's fleetd was started (before it is ready), e.g. to put it in a cgroup.</summary>
    public Action<FleetNode>? Launched { get; init; }

    /// <summary>Later says which nodes (0-based) Start leaves unstarted, to join later with <see cref="FleetCluster.Join"/>; default none.</summary>
    public Func<int, bool> Later { get; init; } = _ => false;

    /// <summary>ClusterExtra is added to the generated cluster.yaml at the top level (e.g. "rebalance: { settleDelay: 2s }\n").</summary>
    public string ClusterExtra { get; init; } = "";
}

/// <summary>
/// FleetCluster is a multi-node Fleet on this one machine, as docs/cluster.md runs it: one
/// generated cluster.yaml, node N (node1, node2, …) listening on 127.0.0.N with its own free
/// ports, data dir, bridge and subnet, each a real fleetd process started with
/// `--config cluster.yaml --node nodeN`. Start waits until every fleetd answers and every worker
/// appears in `get nodes`. Dispose deletes every service through a live node, waits until no
/// replica is listed and every node's runtime is empty, then stops each fleetd by PID and sweeps
/// what is left on each node (failing the test for anything a deleted service left behind).
/// </summary>
internal sealed class FleetCluster : IDisposable
{
    private readonly List<FleetNode> _nodes = [];

    private FleetCluster(FleetClusterOptions options)
    {
        Options = options;
        Root = Directory.CreateTempSubdirectory("fleet-e2e-cluster-").FullName;
        ConfigFile = Path.Combine(Root, "cluster.yaml");
        LanNetwork = options.Lan ? new TestLan(options.Nodes) : null;
        for (var i = 0; i < options.Nodes; i++)
        {
            var name = $"node{i + 1}";
            _nodes.Add(FleetNode.Member(
                options.Driver,
                Path.Combine(Root, name),
                LanNetwork?.Address(i + 1) ?? $"127.0.0.{i + 1}",
                name,
                ["--config", ConfigFile, "--node", name, .. options.Extra],
                LanNetwork?.Namespace(i + 1)));
        }
        System.IO.File.WriteAllText(ConfigFile, ClusterYaml());
    }

    public FleetClusterOptions Options { get; }

    /// <summary>LanNetwork is the test LAN the nodes are on (<see cref="FleetClusterOptions.Lan"/>), else null.</summary>
    public TestLan? LanNetwork { get; }

    /// <summary>Unplug pulls <paramref name="node"/>'s cable (a <see cref="FleetClusterOptions.Lan"/> cluster only).</summary>
    public void Unplug(FleetNode node) =>
        (LanNetwork ?? throw new InvalidOperationException("Unplug needs a cluster on a test LAN")).Down(_nodes.IndexOf(node) + 1);

    /// <summary>Plug puts <paramref name="node"/>'s cable back.</summary>
    public void Plug(FleetNode node) =>
        (LanNetwork ?? throw new InvalidOperationException("Plug needs a cluster on a test LAN")).Up(_nodes.IndexOf(node) + 1);

    public string Root { get; }

    /// <summary>ConfigFile is the generated cluster.yaml every node reads.</summary>
    public string ConfigFile { get; }

    public IReadOnlyList<FleetNode> Nodes => _nodes;

    /// <summary>Node is the node called <paramref name="name"/> (node1, node2, …).</summary>
    public FleetNode Node(string name) => _nodes.Single(n => n.Name == name);

    /// <summary>Live is the first node whose fleetd runs: what a test talks to when it does not care which.</summary>
    public FleetNode Live => _nodes.FirstOrDefault(n => IsRunning(n)) ?? throw new InvalidOperationException("no fleetd of the cluster is running");

    /// <summary>Start starts every node's fleetd, then waits until all answer and every worker has reported.</summary>
    public static FleetCluster Start(FleetClusterOptions? options = null)
    {
        var cluster = new FleetCluster(options ?? new FleetClusterOptions());
        try
        {
            var now = cluster._nodes.Where((_, i) => !cluster.Options.Later(i)).ToList();
            foreach (var node in now)
            {
                node.LaunchFleetd();
                cluster.Options.Launched?.Invoke(node);
            }
            foreach (var node in now)
            {
                node.Fleetd.WaitReady(TimeSpan.FromSeconds(120));
            }
            cluster.WaitNodes(cluster.Workers().Count(w => now.Any(n => n.Name == w)));
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Run starts a cluster, runs <paramref name="test"/> on it and cleans it up. When the test
    /// fails, its failure is what is reported: a cleanup that fails too (a node downed by the
    /// failure, say) must not replace it.
    /// </summary>
    public static void Run(FleetClusterOptions? options, Action<FleetCluster> test)
    {
        var cluster = Start(options);
        try
        {
            test(cluster);
        }
        catch
        {
            try
            {
                cluster.Dispose();
            }
            catch (InvalidOperationException)
            {
            }
            throw;
        }
        cluster.Dispose();
    }

    /// <summary>
    /// Join starts a node left out by <see cref="FleetClusterOptions.Later"/> (it joins the running
    /// cluster through its seed nodes), waits until its fleetd answers and `get nodes` lists
    /// <paramref name="expectedNodes"/> nodes.
    /// </summary>
    public void Join(string name, int expectedNodes)
    {
        var node = Node(name);
        node.LaunchFleetd();
        Options.Launched?.Invoke(node);
        node.Fleetd.WaitReady(TimeSpan.FromSeconds(120));
        WaitNodes(expectedNodes);
    }

    /// <summary>Workers are the names of the nodes with the worker role.</summary>
    public IReadOnlyList<string> Workers() =>
        _nodes.Select((n, i) => (n, i)).Where(x => Options.Roles(x.i).Contains("worker", StringComparison.Ordinal)).Select(x => x.n.Name).ToList();

    /// <summary>NodesView is `get nodes -o json` through a live node.</summary>
    public IReadOnlyList<JsonElement> NodesView() => Live.Json("get", "nodes").EnumerateArray().ToList();

    /// <summary>WaitNodes waits until `get nodes` lists <paramref name="count"/> nodes.</summary>
    public void WaitNodes(int count, TimeSpan? timeout = null) =>
        Live.Eventually(() => NodesView().Count == count, () => $"{count} nodes in `get nodes`:\n{Live.Ctl("get", "nodes").Stdout}", timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Replicas is `get replicas -o json` through a live node (of one service when given); every node remembers the ids for its sweep.</summary>
    public IReadOnlyList<ReplicaView> Replicas(string? service = null)
    {
        var replicas = Live.Replicas(service);
        foreach (var node in _nodes)
        {
            node.Remember(replicas.Select(r => r.Id));
        }
        return replicas;
    }

    /// <summary>PerNode counts <paramref name="replicas"/> by node name (every node present, zero included).</summary>
    public IReadOnlyDictionary<string, int> PerNode(IEnumerable<ReplicaView> replicas)
    {
        var counts = _nodes.ToDictionary(n => n.Name, _ => 0);
        foreach (var replica in replicas)
        {
            counts[replica.Node] = counts.GetValueOrDefault(replica.Node) + 1;
        }
        return counts;
    }

    /// <summary>WaitHealthy waits until <paramref name="service"/> has exactly <paramref name="count"/> replicas, all healthy (as seen through a live node).</summary>
    public IReadOnlyList<ReplicaView> WaitHealthy(string service, int count, TimeSpan? timeout = null) =>
        FleetNode.WaitHealthy(() => Live, Replicas, () => LogTails(), service, count, timeout ?? TimeSpan.FromSeconds(120));

    /// <summary>Eventually polls <paramref name="condition"/> until it holds, else fails with <paramref name="what"/> and every node's log tail.</summary>
    public void Eventually(Func<bool> condition, Func<string> what, TimeSpan timeout) =>
        FleetNode.Eventually(condition, what, () => LogTails(), timeout);

    /// <summary>LogTails are the last lines of every node's fleetd log, for failure messages.</summary>
    public string LogTails(int lines = 25)
    {
        var text = new StringBuilder();
        foreach (var node in _nodes)
        {
            text.Append(CultureInfo.InvariantCulture, $"--- {node.Name} fleetd log tail\n{node.LogTail(lines)}\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// HelloWebImage builds the hello-web example on node1 and pushes it to node1's own registry,
    /// so every node pulls it from there; it returns the image reference to use in a service.
    /// </summary>
    public string HelloWebImage()
    {
        var node = _nodes[0];
        var reference = $"{node.RegistryHost}/hello-web:e2e";
        node.CtlOk("build", "-t", reference, HelloWeb.Context(node));
        node.CtlOk("push", reference);
        return reference;
    }

    /// <summary>File writes a file in the cluster's directory and returns its path.</summary>
    public string File(string name, string text)
    {
        var path = Path.Combine(Root, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        var problems = new List<string>();
        var deleted = false;
        if (_nodes.FirstOrDefault(IsRunning) is { } live)
        {
            deleted = live.DeleteEveryService(problems);
            foreach (var node in _nodes.Where(IsRunning))
            {
                node.WaitRuntimeEmpty();
            }
        }
        // Workers first, control-plane last: the singleton then moves as few times as possible.
        foreach (var node in Enumerable.Reverse(_nodes))
        {
            try
            {
                node.Shutdown(deleteServices: false, servicesDeleted: deleted);
            }
            catch (InvalidOperationException e)
            {
                problems.Add($"{node.Name}: {e.Message}");
            }
        }
        try
        {
            LanNetwork?.Dispose();
        }
        catch (InvalidOperationException e)
        {
            problems.Add(e.Message);
        }
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add($"cannot remove {Root}: {e.Message}");
        }
        if (problems.Count > 0)
        {
            throw new InvalidOperationException("cluster cleanup found:\n  " + string.Join("\n  ", problems));
        }
    }

    private static bool IsRunning(FleetNode node)
    {
        try
        {
            return !node.Fleetd.HasExited;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private string ClusterYaml()
    {
        var yaml = new StringBuilder();
        yaml.Append(CultureInfo.InvariantCulture, $"kind: Cluster\nname: e2e-{Guid.NewGuid().ToString("N")[..6]}\n");
        yaml.Append("persistence:\n").Append(Options.Persistence);
        yaml.Append(Options.ClusterExtra);
        if (LanNetwork is not null)
        {
            // Off the loopback, a registry over plain HTTP must be named (as with Docker's insecure-registries).
            yaml.Append(CultureInfo.InvariantCulture, $"registry:\n  insecure: [{string.Join(", ", _nodes.Select(n => $"\"{n.RegistryHost}\""))}]\n");
        }
        yaml.Append("nodes:\n");
        for (var i = 0; i < _nodes.Count; i++)
        {
            var node = _nodes[i];
            yaml.Append(CultureInfo.InvariantCulture, $"  - name: {node.Name}\n")
                .Append(CultureInfo.InvariantCulture, $"    address: {node.Address}\n")
                .Append(CultureInfo.InvariantCulture, $"    ports: {{ api: {node.Ports.Api}, http: {node.Ports.Http}, cluster: {node.Ports.Cluster} }}\n")
                .Append(CultureInfo.InvariantCulture, $"    roles: {Options.Roles(i)}\n")
                .Append(CultureInfo.InvariantCulture, $"    labels: {Options.Labels(i)}\n")
                .Append(CultureInfo.InvariantCulture, $"    dataDir: {node.DataDir}\n");
        }
        return yaml.ToString();
    }
}
