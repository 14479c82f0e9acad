using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;
using Fleet.Scheduling.Rebalancing;

namespace Fleet.Scheduling.Testing;

/// <summary>
/// Harness is an in-memory cluster for tests and benchmarks, after Nomad's scheduler harness:
/// it holds nodes, desired services and observed replicas, runs the pure scheduler over them,
/// records every plan in <see cref="Plans"/> and applies it as an ideal controller and agents
/// would (places appear as <see cref="PlacedState"/>, stops disappear, migrations complete at
/// once). Node usage and published ports are derived from the replicas it holds.
/// </summary>
public sealed class Harness
{
    private readonly Dictionary<NodeName, NodeInfo> _nodes = [];
    private readonly Dictionary<ServiceName, DesiredService> _services = [];
    private readonly Dictionary<ReplicaId, ObservedReplica> _replicas = [];
    private readonly List<Plan> _plans = [];

    /// <summary>Harness starts empty; <paramref name="seed"/> seeds every evaluation (plus its index).</summary>
    public Harness(int seed = 1, DateTimeOffset? now = null)
    {
        Seed = seed;
        Now = now ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    public int Seed { get; }

    /// <summary>Now is the injected clock; tests advance it by hand.</summary>
    public DateTimeOffset Now { get; set; }

    /// <summary>PlacedState is the state a placed replica starts in (Pending: tests then mark it healthy).</summary>
    public ReplicaState PlacedState { get; set; } = ReplicaState.Pending;

    /// <summary>
    /// MigrationsCompleteAtOnce: true (default) moves a migrated replica at once; false leaves it
    /// in flight (<see cref="ObservedReplica.MigratingTo"/> set, resources held on both nodes)
    /// until <see cref="CompleteMigrations"/>.
    /// </summary>
    public bool MigrationsCompleteAtOnce { get; set; } = true;

    /// <summary>TieBreak is passed to the scheduler; Name makes placements easy to predict in tests.</summary>
    public TieBreak TieBreak { get; set; } = TieBreak.Name;

    /// <summary>RestartsOnNode is passed to the scheduler (<see cref="SchedulerOptions.RestartsOnNode"/>): the controller's setting.</summary>
    public bool RestartsOnNode { get; set; }

    /// <summary>Plans are every plan the harness produced, oldest first: h.Plans[0].</summary>
    public IReadOnlyList<Plan> Plans => _plans;

    public IReadOnlyList<DesiredService> Services => [.. _services.Values.OrderBy(s => s.Name.Value, StringComparer.Ordinal)];

    public IReadOnlyList<ObservedReplica> Replicas => [.. _replicas.Values.OrderBy(r => r.Id.ToString(), StringComparer.Ordinal)];

    /// <summary>Nodes returns the node snapshot with used resources and ports derived from the replicas.</summary>
    public IReadOnlyList<NodeInfo> Nodes
    {
        get
        {
            var usage = _nodes.Keys.ToDictionary(n => n, _ => (Cpu: 0L, Memory: 0L, Ports: new List<PortClaim>()));
            foreach (var replica in _replicas.Values)
            {
                if (replica.IsTerminal || replica.State == ReplicaState.Lost)
                {
                    continue;
                }
                var spec = _services.GetValueOrDefault(replica.Service)?.Spec;
                var resources = replica.Resources ?? spec?.Resources ?? new ResourceRequest();
                foreach (var node in replica.MigratingTo is { } to ? new[] { replica.Node, to } : [replica.Node])
                {
                    if (!usage.TryGetValue(node, out var u))
                    {
                        continue;
                    }
                    u.Cpu += resources.Cpu?.Millicores ?? 0;
                    u.Memory += resources.Memory?.Bytes ?? 0;
                    if (spec is not null)
                    {
                        u.Ports.AddRange(spec.Ports.Where(p => p.Published is not null)
                            .Select(p => new PortClaim(p.Published!.Value, p.Protocol, replica.Service)));
                    }
                    usage[node] = u;
                }
            }
            return [.. _nodes.Values.OrderBy(n => n.Name.Value, StringComparer.Ordinal).Select(n =>
            {
                var u = usage[n.Name];
                return n with
                {
                    UsedCpu = new CpuQuantity(n.UsedCpu.Millicores + u.Cpu),
                    UsedMemory = new ByteSize(n.UsedMemory.Bytes + u.Memory),
                    PortsInUse = [.. n.PortsInUse, .. u.Ports.Distinct()],
                };
            })];
        }
    }

    /// <summary>AddNode adds a ready node: <c>h.AddNode("node1", cpu: "2", memory: "4Gi", labels: ["zone=a"])</c>.</summary>
    public NodeInfo AddNode(string name, string cpu = "4", string memory = "8Gi", IEnumerable<string>? labels = null,
        NodeStatus status = NodeStatus.Ready, IEnumerable<PortClaim>? hostPorts = null)
    {
        var node = new NodeInfo
        {
            Name = NodeName.Parse(name),
            AllocatableCpu = ParseCpu(cpu),
            AllocatableMemory = ParseBytes(memory),
            Labels = (labels ?? []).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal),
            Status = status,
            PortsInUse = [.. hostPorts ?? []],
        };
        return AddNode(node);
    }

    /// <summary>AddNode adds or replaces a node as given; its Used figures are a baseline the replicas add to.</summary>
    public NodeInfo AddNode(NodeInfo node)
    {
        ArgumentNullException.ThrowIfNull(node);
        _nodes[node.Name] = node;
        return node;
    }

    public void RemoveNode(string name) => _nodes.Remove(NodeName.Parse(name));

    public void SetNodeStatus(string name, NodeStatus status)
    {
        var key = NodeName.Parse(name);
        _nodes[key] = _nodes[key] with { Status = status };
    }

    /// <summary>
    /// Deploy declares a service as `fleetctl apply` would: the generation goes up when anything
    /// but the replica count changed. Returns the generation.
    /// </summary>
    public long Deploy(ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var generation = 1L;
        if (_services.TryGetValue(spec.Name, out var existing))
        {
            generation = SpecGeneration.IsNewGeneration(existing.Spec, spec) ? existing.Generation + 1 : existing.Generation;
        }
        _services[spec.Name] = new DesiredService(spec, generation);
        return generation;
    }

    /// <summary>Scale sets a service's replica count without a new generation.</summary>
    public void Scale(string service, int replicas)
    {
        var key = ServiceName.Parse(service);
        var existing = _services[key];
        _services[key] = existing with { Spec = existing.Spec with { Replicas = replicas } };
    }

    public void RemoveService(string service) => _services.Remove(ServiceName.Parse(service));

    /// <summary>AddReplica puts an observed replica in place directly (a test's starting state).</summary>
    public void AddReplica(ObservedReplica replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        _replicas[replica.Id] = replica;
    }

    public ObservedReplica Replica(ReplicaId id) => _replicas[id];

    public void SetState(ReplicaId id, ReplicaState state) => _replicas[id] = _replicas[id] with { State = state };

    /// <summary>MarkAll moves every non-terminal replica on a reachable node to <paramref name="state"/> (default Healthy).</summary>
    public void MarkAll(ReplicaState state = ReplicaState.Healthy)
    {
        foreach (var replica in _replicas.Values.ToList())
        {
            var status = _nodes.TryGetValue(replica.Node, out var node) ? node.Status : NodeStatus.Down;
            if (!replica.IsTerminal && replica.State != ReplicaState.Lost && status is NodeStatus.Ready or NodeStatus.Cordoned or NodeStatus.Draining)
            {
                _replicas[replica.Id] = replica with { State = state };
            }
        }
    }

    /// <summary>ReplicasOf lists a service's replicas.</summary>
    public IReadOnlyList<ObservedReplica> ReplicasOf(string service) =>
        [.. Replicas.Where(r => r.Service.Value == service)];

    /// <summary>CountOn counts a node's non-superseded replicas, of one service or of all.</summary>
    public int CountOn(string node, string? service = null) =>
        _replicas.Values.Count(r => r.Node.Value == node && !r.Superseded && (service is null || r.Service.Value == service));

    /// <summary>Options are the scheduler options of the next evaluation: seed = Seed + number of plans so far.</summary>
    public SchedulerOptions Options => new() { Now = Now, Seed = Seed + _plans.Count, TieBreak = TieBreak, RestartsOnNode = RestartsOnNode };

    /// <summary>Schedule runs one evaluation, records the plan and applies it.</summary>
    public Plan Schedule()
    {
        var plan = Scheduler.Schedule(Services, Replicas, Nodes, Options);
        Record(plan);
        return plan;
    }

    /// <summary>Rebalance plans a rebalance; unless <see cref="RebalanceOptions.DryRun"/> it is applied. Always recorded.</summary>
    public Plan Rebalance(RebalanceOptions? options = null)
    {
        options ??= new RebalanceOptions();
        var plan = Rebalancer.Plan(Services, Replicas, Nodes, options, Options);
        _plans.Add(plan);
        if (!options.DryRun)
        {
            Apply(plan);
        }
        return plan;
    }

    /// <summary>Migrate plans `fleetctl migrate`, records and applies it.</summary>
    public Plan Migrate(ReplicaId replica, string? to = null)
    {
        var plan = Scheduler.PlanMigration(Services, Replicas, Nodes, replica, to is null ? null : NodeName.Parse(to), Options);
        Record(plan);
        return plan;
    }

    /// <summary>
    /// Converge schedules, applies and marks every replica healthy until a plan is empty or
    /// <paramref name="maxRounds"/> is reached; returns the number of plans made.
    /// </summary>
    public int Converge(int maxRounds = 50)
    {
        for (var round = 1; round <= maxRounds; round++)
        {
            var plan = Schedule();
            MarkAll();
            if (plan.IsEmpty)
            {
                return round;
            }
        }
        return maxRounds;
    }

    /// <summary>Apply carries a plan out on the in-memory state.</summary>
    public void Apply(Plan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var action in plan.Actions)
        {
            switch (action)
            {
                case Stop stop:
                    _replicas.Remove(stop.Replica);
                    break;
                case Place place:
                    var spec = _services[place.Service].Spec;
                    _replicas[place.Replica] = new ObservedReplica
                    {
                        Id = place.Replica,
                        Node = place.Node,
                        Generation = place.Generation,
                        State = PlacedState,
                        Stateful = spec.Stateful,
                        Resources = spec.Resources,
                    };
                    if (place.Replaces is { } replaced && _replicas.TryGetValue(replaced, out var old))
                    {
                        _replicas[replaced] = old with { Superseded = true };
                    }
                    break;
                case Migrate move:
                    _replicas[move.Replica] = MigrationsCompleteAtOnce
                        ? _replicas[move.Replica] with { Node = move.To, MigratingTo = null }
                        : _replicas[move.Replica] with { MigratingTo = move.To };
                    break;
            }
        }
    }

    /// <summary>CompleteMigrations finishes every migration in flight: each replica now runs on its target.</summary>
    public void CompleteMigrations()
    {
        foreach (var replica in _replicas.Values.Where(r => r.MigratingTo is not null).ToList())
        {
            _replicas[replica.Id] = replica with { Node = replica.MigratingTo!.Value, MigratingTo = null };
        }
    }

    private void Record(Plan plan)
    {
        _plans.Add(plan);
        Apply(plan);
    }

    private static CpuQuantity ParseCpu(string text) =>
        CpuQuantity.TryParse(text, out var cpu, out var error) ? cpu : throw new FormatException(error);

    private static ByteSize ParseBytes(string text) =>
        ByteSize.TryParse(text, out var size, out var error) ? size : throw new FormatException(error);
}
