using System.Diagnostics;
using System.Globalization;
using Fleet.Runtime;
using Xunit.Abstractions;

namespace Fleet.EndToEnd.Tests.Cluster;

/// <summary>
/// PartitionTests cut a worker off the cluster while its fleetd and containers keep running —
/// a network partition, not a crash — and check that its stateful replica never runs twice:
/// the cut-off node downs itself and fences (stops its stateful replicas), the majority downs it
/// and starts the replica elsewhere only after its fence margin, and when the link is back the
/// node rejoins with exactly one copy left in the cluster.
/// <para>
/// The cut is the one the issue names: every node runs in a network namespace of its own on a
/// test LAN (<see cref="TestLan"/>: one host bridge, a veth per node), and the cut node's link
/// is taken down — its cable pulled. Its fleetd and containers keep running and see the rest of
/// the cluster vanish, as the others see it vanish. Putting the link back up heals the cut.
/// </para>
/// </summary>
public sealed class PartitionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void A_cut_off_node_never_leads_to_a_second_copy_of_a_stateful_replica()
    {
        var cluster = FleetCluster.Start(new FleetClusterOptions { Lan = true });
        try
        {
            CutAndHeal(cluster);
        }
        catch
        {
            // The failure is what matters; a cleanup that also fails must not hide it.
            try
            {
                foreach (var node in cluster.Nodes)
                {
                    cluster.Plug(node);
                }
                cluster.Dispose();
            }
            catch (InvalidOperationException)
            {
            }
            throw;
        }
        cluster.Dispose();
    }

    private void CutAndHeal(FleetCluster cluster)
    {
        var image = cluster.HelloWebImage();
        var controlNode = cluster.Node("node1"); // the oldest member hosts the controller; db is kept off it
        controlNode.CtlOk("apply", "-f", cluster.File("db.yaml",
            HelloWeb.ServiceYaml(TestPorts.Free(), name: "db", image: image, replicas: 1)
            + "stateful: true\nplacement:\n  constraints: [\"zone != z1\"]\n"));
        var db = Assert.Single(cluster.WaitHealthy("db", 1));
        var cutNode = cluster.Node(db.Node);
        var other = cluster.Nodes.Single(n => n != controlNode && n != cutNode);

        using var watch = new CopyWatch(cluster.Nodes, "db-");
        var clock = Stopwatch.StartNew();
        cluster.Unplug(cutNode);

        // The majority downs the cut node and, after the fence margin, starts db on the other worker;
        // the cut node downs itself and stops its copy.
        cluster.Eventually(() => cluster.Replicas("db").Any(r => r.Node == other.Name && r.State is "running" or "healthy"),
            () => $"db running on {other.Name} after the cut ({clock.Elapsed.TotalSeconds:0.0}s): {Describe(cluster.Replicas("db"))}\n{watch}",
            TimeSpan.FromSeconds(75));
        var startedElsewhereAt = clock.Elapsed;
        cluster.Eventually(() => watch.RunningOn(cutNode).Count == 0,
            () => $"{cutNode.Name}'s copy of db stopped\n{watch}", TimeSpan.FromSeconds(30));
        Assert.Contains($"fence: stopped stateful replica {db.Id}", cutNode.Fleetd.Log, StringComparison.Ordinal);

        // Reconnect: the cut node's new ActorSystem joins again (its new agent reports to the
        // controller); one copy remains, on the other worker.
        var reports = Count(controlNode.Fleetd.Log, $"agent of node {cutNode.Name} reported");
        cluster.Plug(cutNode);
        cluster.Eventually(() => Count(controlNode.Fleetd.Log, $"agent of node {cutNode.Name} reported") > reports,
            () => $"{cutNode.Name} rejoined: {cluster.Live.Ctl("get", "nodes").Stdout}", TimeSpan.FromSeconds(90));
        Assert.Contains("building a new one to rejoin", cutNode.Fleetd.Log, StringComparison.Ordinal);
        cluster.Eventually(() => cluster.Replicas("db") is [{ State: "running" or "healthy" } only] && only.Node == other.Name
                                 && watch.Running().Count == 1,
            () => $"exactly one db, on {other.Name}: {Describe(cluster.Replicas("db"))}\n{watch}", TimeSpan.FromSeconds(60));
        Thread.Sleep(TimeSpan.FromSeconds(2)); // a few more looks: nothing restarts the fenced copy

        watch.Dispose();
        output.WriteLine($"cut {cutNode.Name}; db running on {other.Name} {startedElsewhereAt.TotalSeconds:0.0}s after the cut\n{watch}");
        foreach (var line in controlNode.Fleetd.Log.Split('\n').Where(l => l.Contains($"node {cutNode.Name} (", StringComparison.Ordinal))
                     .Concat(cutNode.Fleetd.Log.Split('\n').Where(l => l.Contains("\"fence: ", StringComparison.Ordinal) || l.Contains("building a new one", StringComparison.Ordinal))))
        {
            output.WriteLine(line);
        }
        Assert.True(watch.Violations.Count == 0, $"two copies of db ran at once:\n{string.Join("\n", watch.Violations)}\n{watch}");
        Assert.True(watch.LastSeenOn(cutNode) is { } lastSeen && watch.FirstSeenOn(other) is { } firstSeen && lastSeen < firstSeen,
            $"the fenced copy was last seen after the new one started\n{watch}");
        Assert.True(startedElsewhereAt < TimeSpan.FromSeconds(75), $"db took {startedElsewhereAt.TotalSeconds:0.0}s to run elsewhere");
    }

    private static int Count(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    private static string Describe(IEnumerable<ReplicaView> replicas) => string.Join(", ", replicas.Select(r => $"{r.Id}@{r.Node}:{r.State}"));

    /// <summary>
    /// CopyWatch looks every 250 ms at every node's runtime (its state root, on the shared
    /// filesystem) and records each moment two or more containers of the service run at once.
    /// </summary>
    private sealed class CopyWatch : IDisposable
    {
        private readonly IReadOnlyList<FleetNode> _nodes;
        private readonly string _prefix;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly Dictionary<string, (TimeSpan First, TimeSpan Last)> _seen = [];
        private readonly List<string> _timeline = [];
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread _thread;
        private readonly Lock _gate = new();

        public CopyWatch(IReadOnlyList<FleetNode> nodes, string prefix)
        {
            _nodes = nodes;
            _prefix = prefix;
            _thread = new Thread(Run) { IsBackground = true, Name = "copy-watch" };
            _thread.Start();
        }

        public List<string> Violations { get; } = [];

        public IReadOnlyList<(string Node, string Id)> Running()
        {
            var running = new List<(string, string)>();
            foreach (var node in _nodes)
            {
                running.AddRange(RunningOn(node).Select(id => (node.Name, id)));
            }
            return running;
        }

        public IReadOnlyList<string> RunningOn(FleetNode node)
        {
            try
            {
                return node.Runtime().List().Where(c => c.Id.StartsWith(_prefix, StringComparison.Ordinal) && c.Status == ContainerStatus.Running).Select(c => c.Id).ToList();
            }
            catch (Exception e) when (e is IOException or ContainerRuntimeException or UnauthorizedAccessException)
            {
                return []; // a container being deleted while listed
            }
        }

        public TimeSpan? FirstSeenOn(FleetNode node) { lock (_gate) { return _seen.TryGetValue(node.Name, out var s) ? s.First : null; } }

        public TimeSpan? LastSeenOn(FleetNode node) { lock (_gate) { return _seen.TryGetValue(node.Name, out var s) ? s.Last : null; } }

        private void Run()
        {
            var last = "";
            while (!_stop.IsCancellationRequested)
            {
                var running = Running();
                var at = _clock.Elapsed;
                var now = string.Join(", ", running.Select(r => $"{r.Id}@{r.Node}"));
                lock (_gate)
                {
                    foreach (var (node, _) in running)
                    {
                        _seen[node] = _seen.TryGetValue(node, out var s) ? (s.First, at) : (at, at);
                    }
                    if (now != last)
                    {
                        _timeline.Add(string.Create(CultureInfo.InvariantCulture, $"{at.TotalSeconds,6:0.00}s running: {(now.Length == 0 ? "none" : now)}"));
                        last = now;
                    }
                    if (running.Count > 1)
                    {
                        Violations.Add(string.Create(CultureInfo.InvariantCulture, $"{at.TotalSeconds:0.00}s: {now}"));
                    }
                }
                _stop.Token.WaitHandle.WaitOne(Poll);
            }
        }

        public override string ToString()
        {
            lock (_gate)
            {
                return "copies seen (since the cut):\n  " + string.Join("\n  ", _timeline);
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }
}
