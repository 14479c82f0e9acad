using Fleet.Cluster.Control;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Scheduling.Model;
using NodeStatus = Fleet.Core.State.NodeStatus;

namespace Fleet.Cluster.Tests.Control;

/// <summary>The adapter between the controller's view and the pure scheduler, table by table.</summary>
public sealed class SchedulingPlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly ServiceName Web = ServiceName.Parse("web");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");

    private static NodeStatus Node(NodeName name, string? memory = null, string? cpu = null, string labels = "") => new(
        name, "127.0.0.1", new HashSet<NodeRole> { NodeRole.Worker },
        labels.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToDictionary(p => p[0], p => p[1]),
        "0.1.0", T0)
    {
        AllocatableMemory = memory is null ? null : Parse(memory),
        AllocatableCpu = cpu is null ? null : ParseCpu(cpu),
    };

    private static ByteSize Parse(string text) => ByteSize.TryParse(text, out var size, out var error) ? size : throw new ArgumentException(error);

    private static CpuQuantity ParseCpu(string text) => CpuQuantity.TryParse(text, out var cpu, out var error) ? cpu : throw new ArgumentException(error);

    private static ReplicaStatus Replica(string id, NodeName node, ReplicaPhase phase = ReplicaPhase.Running, long generation = 1,
        ReplicaHealth health = ReplicaHealth.None, string? reason = null) =>
        new(ReplicaId.Parse(id), node, generation, phase, health, null, T0, 0, reason);

    /// <summary>World builds a planner input: services applied in order, nodes reported with their replicas.</summary>
    private sealed class World
    {
        public DesiredState Desired { get; set; } = DesiredState.Empty;

        public ObservedState Observed { get; set; } = ObservedState.Empty;

        public Dictionary<ReplicaId, PendingStart> Pending { get; } = [];

        public HashSet<ReplicaId> Superseded { get; } = [];

        public World Apply(ServiceSpec spec)
        {
            var (_, events) = Desired.Decide(new ServiceCommands.Apply(spec, T0));
            Desired = Desired.ApplyAll(events);
            return this;
        }

        public World Scale(int replicas)
        {
            var (_, events) = Desired.Decide(new ServiceCommands.Scale(Web, replicas, T0));
            Desired = Desired.ApplyAll(events);
            return this;
        }

        public World Report(NodeStatus node, params ReplicaStatus[] replicas)
        {
            Observed = Observed.WithInventory(node, replicas);
            return this;
        }

        public IReadOnlyList<string> Unaccounted { get; set; } = [];

        public ReplicaPlan Plan(int seed = 1) => new SchedulingPlanner().Plan(
            new PlanInput(Desired, Observed, Pending, Observed.Nodes.Values.Select(n => n.Name).ToList(), Superseded, T0) { Unaccounted = Unaccounted }, new Random(seed));
    }

    private static IReadOnlyList<StartOn> Starts(ReplicaPlan plan) => plan.Actions.OfType<StartOn>().ToList();

    private static IReadOnlyList<StopOn> Stops(ReplicaPlan plan) => plan.Actions.OfType<StopOn>().ToList();

    [Theory]
    [InlineData(ReplicaPhase.Pending, ReplicaHealth.Unknown, ReplicaState.Pending)]
    [InlineData(ReplicaPhase.Pulling, ReplicaHealth.Unknown, ReplicaState.Starting)]
    [InlineData(ReplicaPhase.Starting, ReplicaHealth.Unknown, ReplicaState.Starting)]
    [InlineData(ReplicaPhase.Running, ReplicaHealth.None, ReplicaState.Running)]
    [InlineData(ReplicaPhase.Running, ReplicaHealth.Unhealthy, ReplicaState.Running)]
    [InlineData(ReplicaPhase.Running, ReplicaHealth.Healthy, ReplicaState.Healthy)]
    [InlineData(ReplicaPhase.Healthy, ReplicaHealth.Healthy, ReplicaState.Healthy)]
    [InlineData(ReplicaPhase.Exited, ReplicaHealth.None, ReplicaState.Exited)]
    [InlineData(ReplicaPhase.Failed, ReplicaHealth.Unknown, ReplicaState.Failed)]
    public void Phases_map_to_the_schedulers_states(ReplicaPhase phase, ReplicaHealth health, ReplicaState expected) =>
        Assert.Equal(expected, SchedulingPlanner.StateOf(Replica("web-aaaaa", Node1, phase, health: health)));

    public static TheoryData<string, int, int, int> Counts() => new()
    {
        // scenario, running replicas, pending starts, desired → expected starts, expected stops
        { "scale up from nothing", 0, 0, 3 },
        { "scale up with some running", 2, 0, 4 },
        { "pending starts count", 1, 2, 3 },
        { "scale down", 4, 0, 2 },
        { "scale to zero", 3, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(Counts))]
    public void Running_and_pending_replicas_are_counted_against_the_desired_count(string scenario, int running, int pending, int desired)
    {
        var world = new World().Apply(Specs.Service(replicas: desired));
        var replicas = Enumerable.Range(0, running).Select(i => Replica($"web-run{(char)('a' + i)}a", i % 2 == 0 ? Node1 : Node2)).ToArray();
        world.Report(Node(Node1), replicas.Where(r => r.Node == Node1).ToArray()).Report(Node(Node2), replicas.Where(r => r.Node == Node2).ToArray());
        for (var i = 0; i < pending; i++)
        {
            world.Pending[ReplicaId.Parse($"web-pen{(char)('a' + i)}a")] = new PendingStart(Node2, 1);
        }

        var plan = world.Plan();

        Assert.True(Starts(plan).Count == Math.Max(0, desired - running - pending), scenario);
        Assert.True(Stops(plan).Count == Math.Max(0, running + pending - desired), scenario);
        Assert.All(Starts(plan), s => Assert.Equal(1, s.Generation));
    }

    [Fact]
    public void No_stateful_replica_starts_while_a_members_replicas_are_unknown_but_stateless_ones_do()
    {
        var world = new World().Apply(Specs.Service(replicas: 2)).Apply(Specs.Service(name: "db", replicas: 1) with { Stateful = true })
            .Report(Node(Node1)).Report(Node(Node2));
        world.Unaccounted = ["member 10.0.0.3:4053"];

        var plan = world.Plan();

        Assert.Equal(["web", "web"], Starts(plan).Select(s => s.Id.Service.Value));
        var deferred = Assert.Single(plan.Deferred);
        Assert.Equal("db", deferred.Replica?.Service.Value);
        Assert.Contains("member 10.0.0.3:4053", deferred.Reason, StringComparison.Ordinal);

        world.Unaccounted = [];
        Assert.Contains(Starts(world.Plan()), s => s.Id.Service.Value == "db");
    }

    [Fact]
    public void New_replicas_spread_over_the_workers()
    {
        var world = new World().Apply(Specs.Service(replicas: 4)).Report(Node(Node1)).Report(Node(Node2));

        var plan = world.Plan();

        Assert.Equal([2, 2], Starts(plan).GroupBy(s => s.Node).Select(g => g.Count()));
    }

    [Fact]
    public void A_scale_is_no_rollout_but_a_new_image_rolls_surge_first()
    {
        var running = new[] { Replica("web-aaaaa", Node1), Replica("web-bbbbb", Node1), Replica("web-ccccc", Node1) };
        var scaled = new World().Apply(Specs.Service(replicas: 3)).Scale(4).Report(Node(Node1), running);
        var updated = new World().Apply(Specs.Service(replicas: 3)).Apply(Specs.Service(replicas: 3, image: "busybox:1.37")).Report(Node(Node1), running);

        var afterScale = scaled.Plan();
        var afterUpdate = updated.Plan();

        // The scale adds one replica (at the scale's generation) and keeps the three of generation 1.
        var added = Assert.Single(Starts(afterScale));
        Assert.Equal(2, added.Generation);
        Assert.Empty(Stops(afterScale));
        // The new image: one new replica first (maxSurge 1), no old one stopped before it is available.
        var surge = Assert.Single(Starts(afterUpdate));
        Assert.Equal((2L, "docker.io/library/busybox:1.37"), (surge.Generation, surge.Spec.Image.ToString()));
        Assert.Empty(Stops(afterUpdate));
    }

    public static TheoryData<ReplicaPhase, ReplicaHealth, bool, int, int> RollingSteps() => new()
    {
        // new replica's phase, health, service has a health check → expected starts, expected stops of old replicas
        { ReplicaPhase.Starting, ReplicaHealth.Unknown, false, 0, 0 },
        { ReplicaPhase.Running, ReplicaHealth.None, false, 1, 1 },
        { ReplicaPhase.Running, ReplicaHealth.Unknown, true, 0, 0 },
        { ReplicaPhase.Running, ReplicaHealth.Healthy, true, 1, 1 },
        { ReplicaPhase.Healthy, ReplicaHealth.Healthy, true, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(RollingSteps))]
    public void The_rollout_advances_only_once_the_new_replica_is_available(ReplicaPhase phase, ReplicaHealth health, bool healthCheck, int starts, int stops)
    {
        var extra = healthCheck ? "health:\n  http: { path: /, port: 80 }\n" : "";
        var world = new World()
            .Apply(Specs.Service(replicas: 3, extra: extra))
            .Apply(Specs.Service(replicas: 3, image: "busybox:1.37", extra: extra))
            .Report(Node(Node1),
                Replica("web-aaaaa", Node1, healthCheck ? ReplicaPhase.Healthy : ReplicaPhase.Running, health: healthCheck ? ReplicaHealth.Healthy : ReplicaHealth.None),
                Replica("web-bbbbb", Node1, healthCheck ? ReplicaPhase.Healthy : ReplicaPhase.Running, health: healthCheck ? ReplicaHealth.Healthy : ReplicaHealth.None),
                Replica("web-ccccc", Node1, healthCheck ? ReplicaPhase.Healthy : ReplicaPhase.Running, health: healthCheck ? ReplicaHealth.Healthy : ReplicaHealth.None),
                Replica("web-nnnnn", Node1, phase, generation: 2, health: health));

        var plan = world.Plan();

        Assert.Equal(starts, Starts(plan).Count);
        Assert.Equal(stops, Stops(plan).Count);
        Assert.All(Stops(plan), s => Assert.Contains("rolling update: generation 1 → 2", s.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_replica_keeps_its_slot_with_its_reason_until_a_new_generation_replaces_it()
    {
        var failed = Replica("web-fffff", Node1, ReplicaPhase.Failed, reason: "pull busybox:nope: manifest unknown");
        var same = new World().Apply(Specs.Service(replicas: 2, image: "busybox:nope"))
            .Report(Node(Node1), failed, Replica("web-fgggg", Node1, ReplicaPhase.Failed));
        var fixedImage = new World().Apply(Specs.Service(replicas: 2, image: "busybox:nope")).Apply(Specs.Service(replicas: 2))
            .Report(Node(Node1), failed, Replica("web-fgggg", Node1, ReplicaPhase.Failed));

        var unchanged = same.Plan();
        var replaced = fixedImage.Plan();

        Assert.Empty(unchanged.Actions);
        Assert.Equal(["web-fffff", "web-fgggg"], Stops(replaced).Select(s => s.Id.ToString()).Order(StringComparer.Ordinal));
        Assert.Equal(2, Starts(replaced).Count);
        Assert.Equal(["web-fffff", "web-fgggg"], Starts(replaced).Select(s => s.Replaces!.Value.ToString()).Order(StringComparer.Ordinal));
        Assert.All(Starts(replaced), s => Assert.Equal("docker.io/library/busybox:1.36", s.Spec.Image.ToString()));
    }

    public static TheoryData<string, string?, string?, string, string> Unschedulable() => new()
    {
        // service resources, node1 memory, node1 cpu, node1 labels → expected reason
        { "resources: { memory: 512Mi }", "200Mi", null, "", "node1: memory needs 512Mi, 200Mi free" },
        { "resources: { cpu: 2 }", null, "1500m", "", "node1: cpu needs 2, 1500m free" },
        { "placement: { constraints: [\"zone == b\"] }", null, null, "zone=a", "node1: constraint zone == b not met (zone is a)" },
    };

    [Theory]
    [MemberData(nameof(Unschedulable))]
    public void Work_no_node_can_take_is_unschedulable_with_the_nodes_reason(string extra, string? memory, string? cpu, string labels, string reason)
    {
        var world = new World().Apply(Specs.Service(replicas: 2, extra: extra)).Report(Node(Node1, memory, cpu, labels));

        var plan = world.Plan();

        Assert.Empty(plan.Actions);
        var item = Assert.Single(plan.Unschedulable);
        Assert.Equal((Web, 2), (item.Service, item.Count));
        Assert.Equal([reason], item.Summarize());
    }

    [Fact]
    public void Used_memory_counts_running_pending_and_stopping_replicas_but_not_failed_ones()
    {
        var world = new World().Apply(Specs.Service(replicas: 4, extra: "resources: { memory: 256Mi }"))
            .Report(Node(Node1, "1Gi"),
                Replica("web-aaaaa", Node1),
                Replica("web-bbbbb", Node1, ReplicaPhase.Stopping),
                Replica("web-ccccc", Node1, ReplicaPhase.Failed));
        world.Pending[ReplicaId.Parse("web-ddddd")] = new PendingStart(Node1, 1);

        var plan = world.Plan();

        // 1Gi − 3 × 256Mi (running, stopping, pending) leaves room for one; four are wanted and the
        // failed one keeps its slot, so one is placed and nothing else fits.
        Assert.Single(Starts(plan));
        Assert.Empty(Stops(plan));
        Assert.Empty(plan.Unschedulable);
    }

    [Fact]
    public void A_published_port_held_by_another_service_makes_the_node_infeasible()
    {
        var world = new World()
            .Apply(Specs.Service("api", 1, extra: "ports: [{ container: 80, published: 8080 }]"))
            .Apply(Specs.Service(replicas: 1, extra: "ports: [{ container: 80, published: 8080 }]"))
            .Report(Node(Node1), Replica("api-aaaaa", Node1));

        var plan = world.Plan();

        Assert.Empty(plan.Actions);
        Assert.Equal(["node1: port 8080/tcp in use by api"], Assert.Single(plan.Unschedulable).Summarize());
    }

    [Fact]
    public void Replicas_of_undeclared_services_and_superseded_ones_are_stopped()
    {
        var world = new World().Apply(Specs.Service(replicas: 1))
            .Report(Node(Node1), Replica("web-aaaaa", Node1), Replica("web-sssss", Node1), Replica("old-aaaaa", Node1));
        world.Superseded.Add(ReplicaId.Parse("web-sssss"));

        var plan = world.Plan();

        Assert.Equal(["old-aaaaa", "web-sssss"], Stops(plan).Select(s => s.Id.ToString()).Order(StringComparer.Ordinal));
        Assert.Empty(Starts(plan));
    }

    [Fact]
    public void Replicas_on_a_node_without_a_live_agent_are_replaced_on_a_worker()
    {
        var world = new World().Apply(Specs.Service(replicas: 1)).Report(Node(Node1)).Report(Node(Node2), Replica("web-aaaaa", Node2));
        var input = new PlanInput(world.Desired, world.Observed, world.Pending, [Node1], world.Superseded, T0);

        var plan = new SchedulingPlanner().Plan(input, new Random(1));

        var start = Assert.Single(Starts(plan));
        Assert.Equal((Node1, ReplicaId.Parse("web-aaaaa")), (start.Node, start.Replaces!.Value));
        Assert.Equal(ReplicaId.Parse("web-aaaaa"), Assert.Single(Stops(plan)).Id);
    }

    [Fact]
    public void The_same_input_and_seed_give_the_same_plan()
    {
        var world = new World().Apply(Specs.Service(replicas: 5)).Report(Node(Node1)).Report(Node(Node2));

        var first = world.Plan(seed: 42);
        var second = world.Plan(seed: 42);

        Assert.Equal(first.Actions, second.Actions);
    }
}
