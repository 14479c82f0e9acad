using System.Diagnostics;
using System.Globalization;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Scheduling;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;
using Fleet.Scheduling.Rebalancing;
using Fleet.Scheduling.Testing;

// Scheduler benchmark: builds simulated clusters with the Harness and times the pure
// scheduler on them. Inputs are built outside the timed region; each scenario is run
// --runs times after one warm-up, and the median is printed: wall time, its minimum, and the
// process CPU time (the fairer figure on a shared machine). actions/s uses the median wall time.
var nodes = Arg("--nodes", 1000);
var runs = Arg("--runs", 7);
var replicaCounts = ArgList("--replicas", [3000, 10000]);

Console.WriteLine($"Fleet.Scheduling benchmark: {nodes} nodes, {runs} runs per scenario (median), {Environment.ProcessorCount} CPUs, .NET {Environment.Version}");
Console.WriteLine();
Console.WriteLine($"{"scenario",-44} {"replicas",9} {"actions",8} {"median ms",10} {"min ms",8} {"cpu ms",8} {"actions/s",11}");
foreach (var replicas in replicaCounts)
{
    var services = Math.Max(1, replicas / 100);
    var perService = replicas / services;

    // 1. Empty cluster: place every replica.
    var empty = Cluster(nodes, services, perService, converge: false);
    Measure($"place all (empty cluster, {services} services)", replicas,
        Snapshot(empty, (svc, rep, nod, opt) => Scheduler.Schedule(svc, rep, nod, opt)));

    // 2. Converged cluster: nothing to do, the reconcile cost of every evaluation.
    var steady = Cluster(nodes, services, perService, converge: true);
    Measure("steady state (no-op evaluation)", replicas,
        Snapshot(steady, (svc, rep, nod, opt) => Scheduler.Schedule(svc, rep, nod, opt)));

    // 3. One node unreachable: replace its stateless replicas.
    var failed = Cluster(nodes, services, perService, converge: true);
    failed.SetNodeStatus("node0007", NodeStatus.Unreachable);
    Measure("one node unreachable (replace its replicas)", replicas,
        Snapshot(failed, (svc, rep, nod, opt) => Scheduler.Schedule(svc, rep, nod, opt)));

    // 4. Rolling update of one service (new generation).
    var rolling = Cluster(nodes, services, perService, converge: true);
    rolling.Deploy(Spec("svc000", perService, image: "nginx:1.28"));
    Measure("rolling update of one service (first step)", replicas,
        Snapshot(rolling, (svc, rep, nod, opt) => Scheduler.Schedule(svc, rep, nod, opt)));

    // 5. Ten nodes join an unevenly loaded cluster: plan a rebalance.
    var joined = Cluster(nodes - 10, services, perService, converge: true);
    for (var i = nodes - 10; i < nodes; i++)
    {
        AddNode(joined, i);
    }
    Measure("rebalance after 10 nodes join (max 8 moves)", replicas,
        Snapshot(joined, (svc, rep, nod, opt) => Rebalancer.Plan(svc, rep, nod, new RebalanceOptions { MaxConcurrent = 8 }, opt)));
}

// Snapshot takes the harness's inputs once, so only the scheduler is timed.
static Func<Plan> Snapshot(Harness h, Func<IReadOnlyList<DesiredService>, IReadOnlyList<ObservedReplica>, IReadOnlyList<NodeInfo>, SchedulerOptions, Plan> run)
{
    var (services, replicas, nodes, options) = (h.Services, h.Replicas, h.Nodes, h.Options);
    return () => run(services, replicas, nodes, options);
}

void Measure(string name, int replicas, Func<Plan> plan)
{
    var result = plan(); // warm-up, and the figure of actions
    var times = new List<double>();
    var cpuTimes = new List<double>();
    using var process = Process.GetCurrentProcess();
    for (var i = 0; i < runs; i++)
    {
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        result = plan();
        times.Add(watch.Elapsed.TotalMilliseconds);
        process.Refresh();
        cpuTimes.Add((process.TotalProcessorTime - cpuBefore).TotalMilliseconds);
    }
    times.Sort();
    cpuTimes.Sort();
    var median = times[times.Count / 2];
    var cpuMedian = cpuTimes[cpuTimes.Count / 2];
    var actions = result.Actions.Count;
    var rate = actions == 0 ? "-" : (actions / (median / 1000)).ToString("N0", CultureInfo.InvariantCulture);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-44} {replicas,9} {actions,8} {median,10:F1} {times[0],8:F1} {cpuMedian,8:F1} {rate,11}"));
    if (result.Unschedulable.Count > 0)
    {
        Console.WriteLine($"  (unschedulable: {result.Unschedulable.Sum(u => u.Count)})");
    }
}

static Harness Cluster(int nodeCount, int services, int perService, bool converge)
{
    var h = new Harness(seed: 1) { TieBreak = TieBreak.Random, PlacedState = ReplicaState.Healthy };
    for (var i = 0; i < nodeCount; i++)
    {
        AddNode(h, i);
    }
    for (var s = 0; s < services; s++)
    {
        h.Deploy(Spec($"svc{s:D3}", perService,
            spread: s % 5 == 4 ? SpreadMode.None : SpreadMode.Node,
            zone: s % 7 == 6 ? "a" : null));
    }
    if (converge)
    {
        h.Schedule();
    }
    return h;
}

static void AddNode(Harness h, int i) =>
    h.AddNode($"node{i:D4}", cpu: "8", memory: "16Gi", labels: [$"zone={(char)('a' + (i % 3))}"]);

static ServiceSpec Spec(string name, int replicas, SpreadMode spread = SpreadMode.Node, string? zone = null, string image = "nginx:1.27") => new()
{
    Name = ServiceName.Parse(name),
    Image = ImageReference.Parse(image),
    Replicas = replicas,
    Resources = new ResourceRequest
    {
        Cpu = new Fleet.Core.Quantities.CpuQuantity(100),
        Memory = new Fleet.Core.Quantities.ByteSize(128L << 20),
    },
    Placement = new Placement
    {
        Spread = spread,
        Constraints = zone is null ? [] : [new PlacementConstraint("zone", ConstraintOperator.Equal, zone)],
    },
};

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

int[] ArgList(string name, int[] fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length
        ? [.. args[i + 1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture))]
        : fallback;
}
