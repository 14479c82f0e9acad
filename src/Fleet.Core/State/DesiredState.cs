using System.Collections.Immutable;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>ServiceEntry is one declared service: its spec, its generation and when it was created and last changed.</summary>
public sealed record ServiceEntry(ServiceSpec Spec, long Generation, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public ServiceName Name => Spec.Name;

    /// <summary>
    /// SpecGeneration is the generation at which the spec last changed in more than its replica
    /// count (a scale bumps <see cref="Generation"/> but rolls nothing over): replicas started at
    /// an older generation than this one run an outdated spec. 0 on entries written before the
    /// field existed; <see cref="RolloutGeneration"/> then falls back to <see cref="Generation"/>.
    /// </summary>
    public long SpecGeneration { get; init; }

    /// <summary>RolloutGeneration is the oldest generation whose replicas still run the current spec.</summary>
    public long RolloutGeneration => SpecGeneration > 0 ? SpecGeneration : Generation;
}

/// <summary>NodeEntry is one node whose scheduling was declared (cordoned or draining) and since when.</summary>
public sealed record NodeEntry(NodeName Name, NodeScheduling Scheduling, DateTimeOffset Since);

/// <summary>
/// DesiredState is what the cluster controller owns: the declared services and the declared
/// scheduling of nodes (cordoned, draining), nothing observed.
/// It is immutable and pure — <see cref="Decide"/> judges a command and returns the events it
/// causes, <see cref="Apply"/> folds one event in — so the controller actor only persists and
/// replies, and recovery is replaying <see cref="Apply"/> over the journal.
/// </summary>
public sealed record DesiredState
{
    /// <summary>HistoryLimit is how many recent events the state keeps for `fleetctl events` and describe.</summary>
    public const int HistoryLimit = 256;

    /// <summary>Empty is the state of a fresh cluster.</summary>
    public static readonly DesiredState Empty = new();

    /// <summary>Services are the declared services, by name.</summary>
    public ImmutableSortedDictionary<string, ServiceEntry> Services { get; init; } =
        ImmutableSortedDictionary.Create<string, ServiceEntry>(StringComparer.Ordinal);

    /// <summary>
    /// Nodes are the nodes whose scheduling was declared, by name; a node not listed is
    /// <see cref="NodeScheduling.Schedulable"/> (uncordon removes its entry).
    /// </summary>
    public ImmutableSortedDictionary<string, NodeEntry> Nodes { get; init; } =
        ImmutableSortedDictionary.Create<string, NodeEntry>(StringComparer.Ordinal);

    /// <summary>Revisions are each service's last spec generations, oldest first (<see cref="ServiceRevisions"/>), by service name.</summary>
    public ImmutableSortedDictionary<string, ImmutableList<ServiceRevision>> Revisions { get; init; } =
        ImmutableSortedDictionary.Create<string, ImmutableList<ServiceRevision>>(StringComparer.Ordinal);
    /// <summary>Migrations are the migrations in flight and the most recent finished ones, by id (<see cref="MigrationBook"/>).</summary>
    public ImmutableSortedDictionary<string, MigrationRecord> Migrations { get; init; } =
        ImmutableSortedDictionary.Create<string, MigrationRecord>(StringComparer.Ordinal);

    /// <summary>History holds the most recent events (services and nodes), oldest first, at most <see cref="HistoryLimit"/>.</summary>
    public ImmutableList<IClusterEvent> History { get; init; } = [];

    /// <summary>Find returns the entry of <paramref name="name"/>, or null.</summary>
    public ServiceEntry? Find(ServiceName name) => Services.GetValueOrDefault(name.Value);

    /// <summary>SchedulingOf returns the declared scheduling of a node (Schedulable unless cordoned or draining).</summary>
    public NodeScheduling SchedulingOf(NodeName node) =>
        Nodes.TryGetValue(node.Value, out var entry) ? entry.Scheduling : NodeScheduling.Schedulable;

    /// <summary>Decide judges <paramref name="command"/> against this state; it changes nothing.</summary>
    public (CommandResult Result, IReadOnlyList<IServiceEvent> Events) Decide(IServiceCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return command switch
        {
            ServiceCommands.Apply apply => DecideApply(apply),
            ServiceCommands.Scale scale => DecideScale(scale),
            ServiceCommands.Delete delete => DecideDelete(delete),
            _ => (new CommandResult(CommandOutcome.Invalid, command.Service, 0, $"unknown command {command.GetType().Name}"), []),
        };
    }

    /// <summary>
    /// Decide judges a node command: <paramref name="knownNodes"/> are the nodes the controller
    /// knows of (agents that reported); a node already cordoned or draining is known too, so a
    /// node that left can still be uncordoned. Drain implies cordon; uncordon ends a drain.
    /// </summary>
    public (NodeCommandResult Result, IReadOnlyList<INodeEvent> Events) DecideNode(INodeCommand command, IReadOnlyCollection<NodeName> knownNodes)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(knownNodes);
        var node = command.Node;
        var current = SchedulingOf(node);
        if (!Nodes.ContainsKey(node.Value) && !knownNodes.Contains(node))
        {
            var known = knownNodes.Count == 0 ? "no node has reported yet" : $"known nodes: {string.Join(", ", knownNodes.Select(n => n.Value).Order(StringComparer.Ordinal))}";
            return (new NodeCommandResult(CommandOutcome.NotFound, node, current, $"node {node} not found ({known})"), []);
        }
        (NodeScheduling Target, INodeEvent Event, string Done, string Already) decision = command switch
        {
            NodeCommands.Cordon => (NodeScheduling.Cordoned, new NodeEvents.NodeCordoned(node, command.At),
                $"node {node} cordoned", current == NodeScheduling.Draining ? $"node {node} is draining (and so already cordoned)" : $"node {node} already cordoned"),
            NodeCommands.Drain => (NodeScheduling.Draining, new NodeEvents.NodeDrainStarted(node, command.At),
                $"node {node} cordoned and draining", $"node {node} already draining"),
            NodeCommands.Uncordon => (NodeScheduling.Schedulable, new NodeEvents.NodeUncordoned(node, command.At),
                current == NodeScheduling.Draining ? $"node {node} uncordoned (drain stopped)" : $"node {node} uncordoned", $"node {node} already schedulable"),
            _ => throw new ArgumentException($"unknown node command {command.GetType().Name}", nameof(command)),
        };
        var unchanged = current == decision.Target || (command is NodeCommands.Cordon && current == NodeScheduling.Draining);
        return unchanged
            ? (new NodeCommandResult(CommandOutcome.Unchanged, node, current, decision.Already), [])
            : (new NodeCommandResult(CommandOutcome.Updated, node, decision.Target, decision.Done), [decision.Event]);
    }

    /// <summary>Apply folds one event (of a service or a node) into the state and returns the new state.</summary>
    public DesiredState Apply(IClusterEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var nodes = e switch
        {
            NodeEvents.NodeCordoned c => Nodes.SetItem(c.Node.Value, new NodeEntry(c.Node, NodeScheduling.Cordoned, c.At)),
            NodeEvents.NodeDrainStarted d => Nodes.SetItem(d.Node.Value, new NodeEntry(d.Node, NodeScheduling.Draining, d.At)),
            NodeEvents.NodeUncordoned u => Nodes.Remove(u.Node.Value),
            _ => Nodes,
        };
        var services = e switch
        {
            ServiceEvents.ServiceApplied applied => Services.SetItem(applied.Service.Value, new ServiceEntry(
                applied.Spec,
                applied.Generation,
                Find(applied.Service)?.CreatedAt ?? applied.At,
                applied.At)
            {
                SpecGeneration = Find(applied.Service) is { } before
                    && ServiceSpecEquality.Equivalent(before.Spec, applied.Spec with { Replicas = before.Spec.Replicas })
                    ? before.RolloutGeneration
                    : applied.Generation,
            }),
            ServiceEvents.ServiceScaled scaled when Find(scaled.Service) is { } entry => Services.SetItem(scaled.Service.Value, entry with
            {
                Spec = entry.Spec with { Replicas = scaled.Replicas },
                Generation = scaled.Generation,
                UpdatedAt = scaled.At,
            }),
            ServiceEvents.ServiceAutoscaled autoscaled when Find(autoscaled.Service) is { } entry => Services.SetItem(autoscaled.Service.Value, entry with
            {
                Spec = entry.Spec with { Replicas = autoscaled.Replicas },
                Generation = autoscaled.Generation,
                UpdatedAt = autoscaled.At,
            }),
            ServiceEvents.ServiceDeleted deleted => Services.Remove(deleted.Service.Value),
            RolloutEvents.ServiceRolledBack back => Apply(new ServiceEvents.ServiceApplied(back.Spec, back.Generation, back.At)).Services,
            _ => Services,
        };
        var revisions = e is IServiceEvent changed
            ? ServiceRevisions.Fold(Revisions, Find(changed.Service), services.GetValueOrDefault(changed.Service.Value), e)
            : Revisions;
        // A rollout that completed is bookkeeping (the revision's outcome), not news for `fleetctl events`.
        var history = e is RolloutEvents.ServiceRolloutComplete ? History : History.Add(e);
        if (history.Count > HistoryLimit)
        {
            history = history.RemoveRange(0, history.Count - HistoryLimit);
        }
        var migrations = e is IMigrationEvent migration ? MigrationBook.Apply(Migrations, migration) : Migrations;
        return this with { Services = services, Nodes = nodes, History = history, Revisions = revisions, Migrations = migrations };
    }

    /// <summary>ApplyAll folds several events in order.</summary>
    public DesiredState ApplyAll(IEnumerable<IClusterEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        return events.Aggregate(this, (state, e) => state.Apply(e));
    }

    /// <summary>EventsOf returns the recent events of one service, oldest first.</summary>
    public IReadOnlyList<IServiceEvent> EventsOf(ServiceName name) => History.OfType<IServiceEvent>().Where(e => e.Service == name).ToList();

    /// <summary>EventsOfNode returns the recent events of one node, oldest first.</summary>
    public IReadOnlyList<INodeEvent> EventsOfNode(NodeName node) => History.OfType<INodeEvent>().Where(e => e.Node == node).ToList();

    private (CommandResult, IReadOnlyList<IServiceEvent>) DecideApply(ServiceCommands.Apply apply)
    {
        var spec = apply.Spec;
        if (spec.Replicas is < 0 or > ServiceSpecReader.MaxReplicas)
        {
            return Reject(CommandOutcome.Invalid, spec.Name, 0, $"replicas: {spec.Replicas} is outside 0..{ServiceSpecReader.MaxReplicas}");
        }
        var existing = Find(spec.Name);
        if (existing is null)
        {
            var created = new ServiceEvents.ServiceApplied(spec, 1, apply.At);
            return (new CommandResult(CommandOutcome.Created, spec.Name, 1, $"service {spec.Name} created"), [created]);
        }
        if (ServiceSpecEquality.Equivalent(existing.Spec, spec))
        {
            return (new CommandResult(CommandOutcome.Unchanged, spec.Name, existing.Generation, $"service {spec.Name} unchanged"), []);
        }
        var generation = existing.Generation + 1;
        var updated = new ServiceEvents.ServiceApplied(spec, generation, apply.At);
        return (new CommandResult(CommandOutcome.Updated, spec.Name, generation, $"service {spec.Name} updated to generation {generation}"), [updated]);
    }

    private (CommandResult, IReadOnlyList<IServiceEvent>) DecideScale(ServiceCommands.Scale scale)
    {
        var existing = Find(scale.Service);
        if (existing is null)
        {
            return Reject(CommandOutcome.NotFound, scale.Service, 0, $"service {scale.Service} not found");
        }
        if (scale.Replicas is < 0 or > ServiceSpecReader.MaxReplicas)
        {
            return Reject(CommandOutcome.Invalid, scale.Service, existing.Generation, $"replicas: {scale.Replicas} is outside 0..{ServiceSpecReader.MaxReplicas}");
        }
        if (existing.Spec.Autoscale is { } autoscale && (scale.Replicas < autoscale.Min || scale.Replicas > autoscale.Max))
        {
            return Reject(CommandOutcome.Invalid, scale.Service, existing.Generation,
                $"replicas: {scale.Replicas} is outside the autoscale range {autoscale.Min}..{autoscale.Max} of service {scale.Service}");
        }
        if (existing.Spec.Replicas == scale.Replicas)
        {
            return (new CommandResult(CommandOutcome.Unchanged, scale.Service, existing.Generation, $"service {scale.Service} already has {scale.Replicas} replicas desired"), []);
        }
        var generation = existing.Generation + 1;
        var scaled = new ServiceEvents.ServiceScaled(scale.Service, scale.Replicas, existing.Spec.Replicas, generation, scale.At);
        // With autoscaling on, the count set is where the autoscaler continues from: say so.
        var continues = existing.Spec.Autoscale is { } policy
            ? $"; the autoscaler continues from {scale.Replicas} within {policy.Min}..{policy.Max} (scale-down after the {DurationText.Format(policy.ScaleDownDelay)} stabilization window)"
            : "";
        return (new CommandResult(CommandOutcome.Updated, scale.Service, generation, $"service {scale.Service} scaled to {scale.Replicas}{continues}"), [scaled]);
    }

    private (CommandResult, IReadOnlyList<IServiceEvent>) DecideDelete(ServiceCommands.Delete delete)
    {
        var existing = Find(delete.Service);
        if (existing is null)
        {
            return Reject(CommandOutcome.NotFound, delete.Service, 0, $"service {delete.Service} not found");
        }
        var deleted = new ServiceEvents.ServiceDeleted(delete.Service, existing.Generation, delete.At);
        return (new CommandResult(CommandOutcome.Updated, delete.Service, existing.Generation, $"service {delete.Service} deleted"), [deleted]);
    }

    private static (CommandResult, IReadOnlyList<IServiceEvent>) Reject(CommandOutcome outcome, ServiceName service, long generation, string message) =>
        (new CommandResult(outcome, service, generation, message), []);
}
