using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Scheduling;
using Fleet.Scheduling.Model;
using Fleet.Scheduling.Plans;
using CoreNodeStatus = Fleet.Core.State.NodeStatus;
using SchedulingNodeStatus = Fleet.Scheduling.Model.NodeStatus;

namespace Fleet.Cluster.Control;

/// <summary>
/// SchedulingPlanner is the controller's planner: it translates the controller's view into the
/// inputs of the pure <see cref="Scheduler.Schedule"/> and its <see cref="Plan"/> back into
/// starts and stops.
/// <list type="bullet">
/// <item>Services go in at their <see cref="ServiceEntry.RolloutGeneration"/> (a scale is not a
/// new spec), so replicas started before the last spec change are rolled over surge-first,
/// gated on health, within the service's maxSurge/maxUnavailable.</item>
/// <item>Replicas go in with their phase mapped to the scheduler's states; those already being
/// stopped are left out (their resources still count on their node), starts not yet reported
/// go in as Pending.</item>
/// <item>Each worker with a live agent is a Ready node whose allocatable cpu/memory is what its
/// agent reported (unlimited when it reported none) and whose used cpu/memory and published ports
/// are summed from the requests of the replicas on it (a replica of an older generation is
/// counted with the current spec's request: the observed state does not carry the old one).</item>
/// <item>Restarts are the node's job (the driver applies the restart policy in place), so a
/// replica reported Exited or Failed keeps its slot with its reason
/// (<see cref="SchedulerOptions.RestartsOnNode"/>): an image that cannot be pulled shows as
/// Failed instead of being replaced in a loop. A new generation replaces it.</item>
/// <item>A node's declared scheduling (cordoned, draining: <see cref="DesiredState.Nodes"/>)
/// becomes its scheduler status. A <see cref="Migrate"/> off a draining node becomes a
/// <see cref="MigrateOn"/> with a new replica id; while it is in flight
/// (<see cref="PlanInput.Migrations"/>) the moved replica goes in with its target and the
/// replacement stays out (its resources count on its node). An exited or failed replica on a
/// draining node goes in as Lost, so it is stopped and replaced elsewhere and the drain ends.</item>
/// </list>
/// Pure: the seed of each evaluation is drawn from the random source passed in, the time comes
/// with the input.
/// </summary>
public sealed class SchedulingPlanner : IReplicaPlanner
{
    // "Unlimited" for a node that did not report its capacity; far from overflow when summed.
    private const long Unlimited = long.MaxValue / 4;

    public ReplicaPlan Plan(PlanInput input, Random random)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(random);
        var desired = input.Desired;
        var services = desired.Services.Values.Select(e => new DesiredService(e.Spec, e.RolloutGeneration)).ToList();
        var usage = input.Workers.Distinct().ToDictionary(n => n, _ => new NodeUsage());
        var replicas = new List<ObservedReplica>(input.Observed.Replicas.Count + input.Pending.Count);

        var replacements = input.Migrations.Values.Select(m => m.Replacement).ToHashSet();
        foreach (var status in input.Observed.Replicas.Values)
        {
            var spec = desired.Find(status.Service)?.Spec;
            if (status.Phase is not (ReplicaPhase.Exited or ReplicaPhase.Failed) && usage.TryGetValue(status.Node, out var node))
            {
                node.Add(status.Service, spec);
            }
            var migration = input.Migrations.GetValueOrDefault(status.Id);
            if ((status.Phase == ReplicaPhase.Stopping && migration is null) || replacements.Contains(status.Id))
            {
                continue;
            }
            replicas.Add(new ObservedReplica
            {
                Id = status.Id,
                Node = status.Node,
                Generation = status.Generation,
                State = status.IsActive || status.Phase == ReplicaPhase.Stopping || desired.SchedulingOf(status.Node) != NodeScheduling.Draining
                    ? StateOf(status)
                    : ReplicaState.Lost,
                Stateful = spec?.Stateful ?? false,
                Superseded = input.Superseded.Contains(status.Id),
                MigratingTo = migration?.To,
            });
        }
        // A stateful move holds its target's resources before its replacement exists.
        foreach (var (id, migration) in input.Migrations)
        {
            if (migration.Stateful && !input.Pending.ContainsKey(migration.Replacement)
                && !input.Observed.Replicas.ContainsKey(migration.Replacement.ToString()) && usage.TryGetValue(migration.To, out var target))
            {
                target.Add(id.Service, desired.Find(id.Service)?.Spec);
            }
        }
        foreach (var (id, start) in input.Pending.OrderBy(p => p.Key.ToString(), StringComparer.Ordinal))
        {
            if (input.Observed.Replicas.ContainsKey(id.ToString()))
            {
                continue;
            }
            var spec = desired.Find(id.Service)?.Spec;
            if (usage.TryGetValue(start.Node, out var node))
            {
                node.Add(id.Service, spec);
            }
            if (replacements.Contains(id))
            {
                continue;
            }
            replicas.Add(new ObservedReplica
            {
                Id = id,
                Node = start.Node,
                Generation = start.Generation,
                State = ReplicaState.Pending,
                Stateful = spec?.Stateful ?? false,
            });
        }

        var nodes = usage.Select(pair => WithDeclared(NodeInfoOf(pair.Key, input.Observed.Nodes.GetValueOrDefault(pair.Key.Value), pair.Value, input), desired)).ToList();
        var options = new SchedulerOptions
        {
            Now = input.Now,
            Seed = random.Next(),
            TieBreak = TieBreak.Random,
            RestartsOnNode = true,
        };
        var plan = Scheduler.Schedule(services, replicas, nodes, options);
        return Translate(plan, input, random);
    }

    /// <summary>
    /// WithDeclared applies the node's declared scheduling (cordoned, draining) to a reachable
    /// node; an Unreachable or Down node keeps that status, which matters more to the scheduler.
    /// </summary>
    private static NodeInfo WithDeclared(NodeInfo node, DesiredState desired) =>
        node.Status == SchedulingNodeStatus.Ready ? node with { Status = Declared(desired.SchedulingOf(node.Name)) } : node;

    /// <summary>Declared maps a node's declared scheduling to the scheduler's status (reachability aside).</summary>
    internal static SchedulingNodeStatus Declared(NodeScheduling scheduling) => scheduling switch
    {
        NodeScheduling.Cordoned => SchedulingNodeStatus.Cordoned,
        NodeScheduling.Draining => SchedulingNodeStatus.Draining,
        _ => SchedulingNodeStatus.Ready,
    };

    /// <summary>StateOf maps an agent's phase and health to the scheduler's state (Stopping never reaches it).</summary>
    internal static ReplicaState StateOf(ReplicaStatus status) => status.Phase switch
    {
        ReplicaPhase.Pending => ReplicaState.Pending,
        ReplicaPhase.Pulling or ReplicaPhase.Starting => ReplicaState.Starting,
        ReplicaPhase.Running => status.Health == ReplicaHealth.Healthy ? ReplicaState.Healthy : ReplicaState.Running,
        ReplicaPhase.Healthy => ReplicaState.Healthy,
        ReplicaPhase.Exited => ReplicaState.Exited,
        ReplicaPhase.Failed => ReplicaState.Failed,
        _ => ReplicaState.Running,
    };

    private static NodeInfo NodeInfoOf(NodeName name, CoreNodeStatus? reported, NodeUsage used, PlanInput input) => new()
    {
        Name = name,
        Labels = reported?.Labels ?? new Dictionary<string, string>(),
        AllocatableCpu = reported?.AllocatableCpu ?? new CpuQuantity(Unlimited),
        AllocatableMemory = reported?.AllocatableMemory ?? new ByteSize(Unlimited),
        UsedCpu = new CpuQuantity(used.Cpu),
        UsedMemory = new ByteSize(used.Memory),
        Status = StatusOf(reported, input.Now, input.FenceMargin),
        PortsInUse = used.Ports,
    };

    /// <summary>
    /// StatusOf maps what membership says about a node to the scheduler's status: an unreachable
    /// node's stateless replicas are replaced at once and its stateful ones wait; a down node's
    /// are all replaced — but a node Down for less than <paramref name="fenceMargin"/>
    /// at <paramref name="now"/> is still Unreachable to the scheduler — its stateless replicas are
    /// replaced (they were already, at unreachable), its stateful ones wait until the node has had
    /// time to fence itself (stop them), so they never run twice. A Down node with no
    /// <see cref="CoreNodeStatus.ReachabilitySince"/> is Down.
    /// </summary>
    internal static SchedulingNodeStatus StatusOf(CoreNodeStatus? reported, DateTimeOffset now, TimeSpan fenceMargin) => reported?.Reachability switch
    {
        NodeReachability.Unreachable => SchedulingNodeStatus.Unreachable,
        NodeReachability.Down when reported.ReachabilitySince is { } since && now - since < fenceMargin => SchedulingNodeStatus.Unreachable,
        NodeReachability.Down => SchedulingNodeStatus.Down,
        _ => SchedulingNodeStatus.Ready,
    };

    private static ReplicaPlan Translate(Plan plan, PlanInput input, Random random)
    {
        var desired = input.Desired;
        var actions = new List<PlanAction>(plan.Actions.Count);
        var deferred = new List<Deferred>(plan.Deferred);
        foreach (var action in plan.Actions)
        {
            switch (action)
            {
                case Stop stop:
                    actions.Add(new StopOn(stop.Replica, stop.Node, stop.Reason));
                    break;
                case Place place when desired.Find(place.Service) is { } entry && entry.Spec.Stateful && input.Unaccounted.Count > 0:
                    deferred.Add(new Deferred(place.Replica,
                        $"stateful: not started while the replicas of {string.Join(", ", input.Unaccounted)} are unknown (it may still run this one)"));
                    break;
                case Place place when desired.Find(place.Service) is { } entry:
                    actions.Add(new StartOn(place.Replica, place.Node, entry.Spec, entry.Generation, place.Replaces));
                    break;
                case Migrate move when desired.Find(move.Replica.Service) is { } entry && entry.Spec.Stateful && input.Unaccounted.Count > 0:
                    deferred.Add(new Deferred(move.Replica, $"stateful move waits until the replicas of {string.Join(", ", input.Unaccounted)} are known"));
                    break;
                case Migrate move when desired.Find(move.Replica.Service) is { } entry:
                    actions.Add(new MigrateOn(move.Replica, move.From, move.To, NewReplicaId(move.Replica.Service, input, random),
                        entry.Spec, entry.Generation, entry.Spec.Stateful, move.Reason));
                    break;
            }
        }
        return new ReplicaPlan(actions, plan.Unschedulable, deferred);
    }

    /// <summary>NewReplicaId draws an id no replica, start or move in flight has.</summary>
    private static ReplicaId NewReplicaId(ServiceName service, PlanInput input, Random random)
    {
        while (true)
        {
            var id = ReplicaId.New(service, random);
            if (!input.Observed.Replicas.ContainsKey(id.ToString()) && !input.Pending.ContainsKey(id)
                && !input.Migrations.Values.Any(m => m.Replacement == id))
            {
                return id;
            }
        }
    }

    /// <summary>NodeUsage sums the requests and published ports of the replicas on one node.</summary>
    private sealed class NodeUsage
    {
        private readonly List<PortClaim> _ports = [];

        public long Cpu { get; private set; }

        public long Memory { get; private set; }

        public IReadOnlyList<PortClaim> Ports => _ports;

        public void Add(ServiceName service, ServiceSpec? spec)
        {
            if (spec is null)
            {
                return; // an undeclared service's replica: being stopped, its request unknown
            }
            Cpu += spec.Resources.Cpu?.Millicores ?? 0;
            Memory += spec.Resources.Memory?.Bytes ?? 0;
            foreach (var port in spec.Ports)
            {
                if (port.Published is { } published && !_ports.Exists(p => p.Port == published && p.Protocol == port.Protocol))
                {
                    _ports.Add(new PortClaim(published, port.Protocol, service));
                }
            }
        }
    }
}
