using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Akka.Persistence;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Control;

/// <summary>
/// ClusterController owns the cluster's desired state, event-sourced: commands are judged by
/// <see cref="DesiredState.Decide"/>, the events persisted, then folded in with
/// <see cref="DesiredState.Apply"/>. What agents report is kept as soft observed state, never
/// persisted. On a timer and after every change it asks the planner what to start and stop
/// and tells the agents; work the planner finds no node for is recorded as a
/// <see cref="ServiceEvents.ServiceUnschedulable"/> event when its reasons change. It runs as a
/// cluster singleton on role control-plane.
/// </summary>
public sealed partial class ClusterController : ReceivePersistentActor, IWithTimers
{
    /// <summary>PersistenceIdPrefix names the controller's journal stream; there is one controller per cluster.</summary>
    public const string PersistenceIdPrefix = "fleet-controller";

    private const string ReconcileTimer = "reconcile";

    private readonly ControllerSettings _settings;
    private readonly IReplicaPlanner _planner;
    private readonly Random _random;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<NodeName, IActorRef> _agents = [];
    private readonly Dictionary<ReplicaId, (PendingStart Start, DateTimeOffset Deadline)> _pending = [];
    private readonly HashSet<ReplicaId> _superseded = [];
    private readonly Dictionary<ServiceName, string> _unschedulable = [];
    private readonly HashSet<string> _deferred = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private readonly HashSet<Address> _awaitingInventory = [];
    private readonly MemberLedger _members = new();
    private readonly Dictionary<ReplicaId, NodeName> _replacedAway = [];
    private readonly Dictionary<Address, NodeName> _nodeAt = [];

    // Worker members with no inventory at this controller yet, and since when each is down (null: not down).
    private readonly Dictionary<Address, DateTimeOffset?> _unaccounted = [];
    private readonly HashSet<IActorRef> _deadAgents = [];
    private DateTimeOffset _planAfter;
    private DesiredState _desired = DesiredState.Empty;
    private ObservedState _observed = ObservedState.Empty;

    // The mesh view's version moves when the desired or observed state object was replaced since
    // the last question (both are immutable). It starts at random so that a node's version from a
    // controller before a fail-over is never taken for current by the next one.
    private long _meshViewVersion = Random.Shared.NextInt64(1, long.MaxValue / 2);
    private (DesiredState Desired, ObservedState Observed)? _meshViewOf;

    public ClusterController(ControllerSettings settings, IReplicaPlanner planner)
    {
        _settings = settings;
        _planner = planner;
        _random = settings.Seed is { } seed ? new Random(seed) : new Random();
        _clock = settings.Clock;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is DesiredState state)
            {
                _desired = state;
            }
        });
        Recover<IClusterEvent>(e => _desired = _desired.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            _log.Info("controller recovered {0} services at sequence number {1}", _desired.Services.Count, LastSequenceNr);
            RememberUnschedulable();
            AskAgentsForInventory();
            Timers.StartPeriodicTimer(ReconcileTimer, Reconcile.Instance, _settings.ReconcileInterval);
            StartAutoscaler();
        });

        ReceiveAutoscale();

        Command<IServiceCommand>(HandleCommand);
        Command<INodeCommand>(HandleNodeCommand);
        RegisterRebalance();
        ReceiveRollout();
        RegisterMigrationCommands();
        Command<ControllerProtocol.GetNodeSummaries>(_ => Sender.Tell(NodeSummaries()));
        Command<ControllerProtocol.GetServices>(_ => Sender.Tell(new ControllerProtocol.ServicesResponse(ServiceSummaries())));
        Command<ControllerProtocol.GetService>(q => Sender.Tell(new ControllerProtocol.ServiceResponse(
            _desired.Find(q.Service) is { } entry ? Summary(entry) : null,
            _observed.ReplicasOf(q.Service),
            _desired.EventsOf(q.Service))));
        Command<ControllerProtocol.GetReplicas>(q => Sender.Tell(new ControllerProtocol.ReplicasResponse(
            q.Service is { } service ? _observed.ReplicasOf(service) : _observed.Replicas.Values.ToList())));
        Command<ControllerProtocol.GetNodes>(_ => Sender.Tell(new ControllerProtocol.NodesResponse(_observed.Nodes.Values.ToList())));
        Command<ControllerProtocol.GetMeshView>(q => Sender.Tell(MeshView(q.Known)));
        Command<ControllerProtocol.GetEvents>(q => Sender.Tell(new ControllerProtocol.EventsResponse(
            _desired.History.Skip(Math.Max(0, _desired.History.Count - Math.Max(q.Limit, 0))).ToList())));

        Command<AgentProtocol.NodeInventory>(HandleInventory);
        Command<AgentProtocol.ReplicaStatusChanged>(m =>
        {
            if (_deadAgents.Contains(Sender))
            {
                return;
            }
            _pending.Remove(m.Status.Id);
            var before = _observed.Replicas.GetValueOrDefault(m.Status.Id.ToString());
            _observed = _observed.WithReplica(m.Status);
            NotifyWakeWaiters(m.Status);
            // A replica that became available (or gave up) is what a rolling update waits for:
            // plan now rather than at the next tick.
            if ((before?.Phase != m.Status.Phase || before.Health != m.Status.Health)
                && m.Status.Phase is ReplicaPhase.Running or ReplicaPhase.Healthy or ReplicaPhase.Exited or ReplicaPhase.Failed)
            {
                ReconcileNow();
            }
        });
        Command<AgentProtocol.ReplicaRemoved>(m =>
        {
            _observed = _observed.WithoutReplica(m.Id);
            ReconcileNow();
        });
        Command<Terminated>(t =>
        {
            var reachability = NodeReachability.Unreachable;
            if (IsClustered)
            {
                _deadAgents.Add(t.ActorRef); // a report of its still in flight must not bring its node back
                reachability = _members.AgentEnded(AddressOf(t.ActorRef));
            }
            foreach (var (node, _) in _agents.Where(a => a.Value.Equals(t.ActorRef)).ToList())
            {
                if (!IsClustered)
                {
                    // No membership to ask (a plain ActorSystem): the agent is all there is of the node.
                    _log.Warning("agent of node {0} terminated; forgetting its replicas until it reports again", node);
                    _agents.Remove(node);
                    _observed = _observed.WithoutNode(node);
                    continue;
                }
                // Its replicas are lost: the planner replaces them and the replaced ids stay
                // superseded until the node reports again. While its member is still in the
                // cluster (its ActorSystem is going away, or it is cut off) the node is only
                // unreachable — its stateful replicas wait until membership says it is down.
                // Only membership says down: an agent that ends before its member's events reached
                // this controller (a node that dies right after joining) leaves its node unreachable.
                _log.Warning("agent of node {0} terminated; the node is {1} until it reports again", node, reachability.ToString().ToLowerInvariant());
                _agents.Remove(node);
                if (_observed.Nodes.GetValueOrDefault(node.Value)?.Reachability != NodeReachability.Down)
                {
                    MarkNode(node, reachability);
                }
            }
            ReconcileNow();
        });
        Command<ClusterEvent.IMemberEvent>(HandleMemberEvent);
        Command<ClusterEvent.UnreachableMember>(e => SetReachability(e.Member, NodeReachability.Unreachable));
        Command<ClusterEvent.ReachableMember>(e => SetReachability(e.Member, NodeReachability.Up));
        Command<Reconcile>(_ => ReconcileNow());
        ScaleToZeroCommands();
        Command<SaveSnapshotSuccess>(s => DeleteSnapshots(new SnapshotSelectionCriteria(s.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "saving a snapshot failed; the journal still holds every event"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning(f.Cause, "deleting old snapshots failed"));
    }

    public override string PersistenceId => PersistenceIdPrefix;

    /// <summary>
    /// PreStart subscribes to cluster membership (when there is a cluster): reachability is how
    /// the controller learns within seconds that a node is unreachable or down, instead of
    /// waiting for its agent's reports to stop.
    /// </summary>
    protected override void PreStart()
    {
        base.PreStart();
        if (IsClustered)
        {
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        }
    }

    protected override void PostStop()
    {
        if (IsClustered)
        {
            Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        }
        base.PostStop();
    }

    private bool IsClustered => ((ExtendedActorSystem)Context.System).Provider is IClusterActorRefProvider;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props makes the controller's props with the given planner.</summary>
    public static Props Props(ControllerSettings settings, IReplicaPlanner planner) =>
        Akka.Actor.Props.Create(() => new ClusterController(settings, planner));

    /// <summary>Props makes the controller's props with the scheduler (<see cref="SchedulingPlanner"/>).</summary>
    public static Props Props(ControllerSettings settings) => Props(settings, new SchedulingPlanner());

    private void HandleCommand(IServiceCommand command) => Commit(_desired.Decide(command));

    /// <summary>
    /// Commit answers a decided service command: at once when it changed nothing, otherwise once
    /// its events are journaled, and then reconciles towards the new desired state.
    /// </summary>
    private void Commit((CommandResult Result, IReadOnlyList<IServiceEvent> Events) decision)
    {
        var (result, events) = decision;
        if (events.Count == 0)
        {
            Sender.Tell(result);
            return;
        }
        var replyTo = Sender;
        PersistEvents(events, () =>
        {
            _log.Info("{0}", result.Message);
            replyTo.Tell(result);
            ReconcileNow();
        });
    }

    /// <summary>PersistEvents journals events, folds each into the desired state, snapshots on schedule, then runs <paramref name="done"/>.</summary>
    private void PersistEvents(IReadOnlyList<IClusterEvent> events, Action done)
    {
        var remaining = events.Count;
        PersistAll(events, e =>
        {
            _desired = _desired.Apply(e);
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
            {
                SaveSnapshot(_desired);
            }
            if (--remaining == 0)
            {
                done();
            }
        });
    }

    /// <summary>
    /// After a start or fail-over the controller knows nothing of reality: it asks the agent of
    /// every worker member for its inventory, and plans nothing until all have answered (or the
    /// grace time is over) — acting on a partial picture would start replicas twice.
    /// </summary>
    private void AskAgentsForInventory()
    {
        if (!IsClustered)
        {
            return; // a plain ActorSystem (tests): agents introduce themselves
        }
        var workers = Akka.Cluster.Cluster.Get(Context.System).State.Members
            .Where(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(Hosting.FleetNodeOptions.WorkerRole))
            .Select(m => m.Address)
            .ToList();
        foreach (var address in workers)
        {
            Context.ActorSelection(new RootActorPath(address) / "user" / Agent.NodeAgent.ActorName).Tell(new AgentProtocol.RequestInventory());
            _awaitingInventory.Add(address);
        }
        if (_awaitingInventory.Count > 0)
        {
            _planAfter = _clock.GetUtcNow() + _settings.InventoryGrace;
            _log.Info("asked {0} agents for their inventory; planning waits for them (at most {1})", _awaitingInventory.Count, _settings.InventoryGrace);
        }
    }

    private void HandleInventory(AgentProtocol.NodeInventory inventory)
    {
        var address = AddressOf(Sender);
        _awaitingInventory.Remove(address);
        if (_deadAgents.Contains(Sender))
        {
            return;
        }
        var node = inventory.Node.Name;
        var reachability = _members.AgentReported(address); // a live agent answered: a node unreachable for its lost agent is back
        if (reachability == NodeReachability.Down)
        {
            // A report still in flight from a member that was downed: its node rejoins as a new member first.
            _log.Info("ignoring an inventory of node {0} from downed member {1}", node, address);
            return;
        }
        var known = _observed.Nodes.GetValueOrDefault(node.Value);
        var since = known?.Reachability == reachability ? known.ReachabilitySince : _clock.GetUtcNow();
        inventory = inventory with { Node = inventory.Node with { Reachability = reachability, ReachabilitySince = known is null ? null : since } };
        // Replicas replaced while the node was unreachable or down: any that it still runs are surplus.
        foreach (var (id, _) in _replacedAway.Where(r => r.Value == node).ToList())
        {
            _replacedAway.Remove(id);
            if (inventory.Replicas.Any(r => r.Id == id))
            {
                _log.Info("node {0} is back with {1}, which was replaced meanwhile; stopping it", node, id);
                _superseded.Add(id);
            }
        }
        _nodeAt[address] = node;
        _unaccounted.Remove(address);
        if (!_agents.TryGetValue(node, out var agent) || !agent.Equals(Sender))
        {
            _log.Info("agent of node {0} reported {1} replicas", node, inventory.Replicas.Count);
            _agents[node] = Sender;
            Context.Watch(Sender);
        }
        _observed = _observed.WithInventory(inventory.Node, inventory.Replicas);
        _firstSeen.TryAdd(node, _clock.GetUtcNow());
        foreach (var replica in inventory.Replicas)
        {
            _pending.Remove(replica.Id);
        }
        ReconcileNow();
    }

    /// <summary>
    /// HandleMemberEvent follows membership: a member that joins or is up is reachable (a downed
    /// node's fleetd rejoins as a new member at the same address, and is asked for its inventory
    /// at once); one downed or removed is down. Leaving and exiting members stay as they are
    /// until removed.
    /// </summary>
    private void HandleMemberEvent(ClusterEvent.IMemberEvent e)
    {
        switch (e)
        {
            case ClusterEvent.MemberJoined or ClusterEvent.MemberWeaklyUp or ClusterEvent.MemberUp:
                var isNew = _members.IsNewIncarnation(e.Member.UniqueAddress);
                // After its agent ended, "up" is only the member's status: it stays unreachable until an agent reports.
                if (_members.MemberUp(e.Member.UniqueAddress) is { } changed)
                {
                    ReachabilityChanged(e.Member.Address, changed);
                }
                if (e.Member.HasRole(Hosting.FleetNodeOptions.WorkerRole) && !_nodeAt.ContainsKey(e.Member.Address))
                {
                    _unaccounted.TryAdd(e.Member.Address, null);
                }
                if (isNew && e is ClusterEvent.MemberUp && e.Member.HasRole(Hosting.FleetNodeOptions.WorkerRole))
                {
                    AgentAt(e.Member.Address).Tell(new AgentProtocol.RequestInventory());
                }
                break;
            case ClusterEvent.MemberDowned or ClusterEvent.MemberRemoved:
                SetReachability(e.Member, NodeReachability.Down);
                if (_unaccounted.TryGetValue(e.Member.Address, out var downAt) && downAt is null)
                {
                    _unaccounted[e.Member.Address] = _clock.GetUtcNow(); // it fences itself within the margin
                }
                break;
        }
    }

    /// <summary>
    /// SetReachability records what membership says about <paramref name="member"/> (events about
    /// an older incarnation at the same address, a node that rejoined, are ignored by the ledger)
    /// and acts on a change.
    /// </summary>
    private void SetReachability(Member member, NodeReachability reachability)
    {
        if (_members.Record(member.UniqueAddress, reachability) is { } changed)
        {
            ReachabilityChanged(member.Address, changed);
        }
    }

    /// <summary>
    /// ReachabilityChanged puts a changed member reachability in its node's observed status (when
    /// the member is a known node's) and plans at once: a stateless replica on an unreachable
    /// node is replaced now, a stateful one once it is down.
    /// </summary>
    private void ReachabilityChanged(Address address, NodeReachability reachability)
    {
        if (!_nodeAt.TryGetValue(address, out var node) || address.Equals(((ExtendedActorSystem)Context.System).Provider.DefaultAddress))
        {
            return;
        }
        _log.Warning("node {0} ({1}) is {2}", node, address, reachability.ToString().ToLowerInvariant());
        MarkNode(node, reachability);
        switch (reachability)
        {
            case NodeReachability.Down:
                _agents.Remove(node); // its agent is gone with its ActorSystem
                break;
            case NodeReachability.Up:
                AgentAt(address).Tell(new AgentProtocol.RequestInventory()); // what survived, to stop the surplus
                break;
        }
        ReconcileNow();
    }

    /// <summary>MarkNode records a node's reachability; on a down node, stops in flight will never be confirmed, so those replicas are forgotten.</summary>
    private void MarkNode(NodeName node, NodeReachability reachability)
    {
        _observed = _observed.WithReachability(node, reachability, _clock.GetUtcNow());
        if (reachability == NodeReachability.Down)
        {
            foreach (var stopping in _observed.Replicas.Values.Where(r => r.Node == node && r.Phase == ReplicaPhase.Stopping).ToList())
            {
                _observed = _observed.WithoutReplica(stopping.Id);
            }
        }
    }

    private Address AddressOf(IActorRef actor) =>
        actor.Path.Address.HasLocalScope ? ((ExtendedActorSystem)Context.System).Provider.DefaultAddress : actor.Path.Address;

    private ActorSelection AgentAt(Address address) =>
        Context.ActorSelection(new RootActorPath(address) / "user" / Agent.NodeAgent.ActorName);

    private void ReconcileNow()
    {
        var now = _clock.GetUtcNow();
        if (_awaitingInventory.Count > 0 && now < _planAfter)
        {
            return;
        }
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        PlanAndAct(now);
        _settings.ReconcileCompleted?.Invoke(System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    private void PlanAndAct(DateTimeOffset now)
    {
        _awaitingInventory.Clear();
        // Membership decides about unreachable and down nodes; the report timeout is for agents that fell silent on a live node.
        foreach (var stale in _observed.Nodes.Values.Where(n => n.Reachability == NodeReachability.Up && now - n.LastSeen > _settings.NodeTimeout).ToList())
        {
            _log.Warning("node {0} has not reported since {1:O}; forgetting it", stale.Name, stale.LastSeen);
            _observed = _observed.WithoutNode(stale.Name);
            _agents.Remove(stale.Name);
        }
        foreach (var expired in _pending.Where(p => p.Value.Deadline < now).Select(p => p.Key).ToList())
        {
            _pending.Remove(expired);
        }
        // A superseded replica matters only while someone may still report it.
        _superseded.RemoveWhere(id => !_observed.Replicas.ContainsKey(id.ToString()) && !_pending.ContainsKey(id) && !_replacedAway.ContainsKey(id));
        // Unreachable and down nodes stay in the picture: the planner decides what their replicas need.
        var workers = _observed.Nodes.Values
            .Where(n => n.Roles.Contains(NodeRole.Worker) && (_agents.ContainsKey(n.Name) || n.Reachability != NodeReachability.Up))
            .Select(n => n.Name)
            .ToList();
        AdvanceMigrations(now);
        AdvanceJournaledMigrations(now);
        var pending = _pending.ToDictionary(p => p.Key, p => p.Value.Start);
        var unaccounted = _unaccounted
            .Where(u => u.Value is not { } downAt || now - downAt < _settings.FenceMargin)
            .Select(u => $"member {u.Key.Host}:{u.Key.Port}")
            .Order(StringComparer.Ordinal)
            .ToList();
        var plan = _planner.Plan(new PlanInput(_desired, _observed, pending, workers, _superseded, now)
        {
            Migrations = MigrationsInFlight(),
            FenceMargin = _settings.FenceMargin,
            Unaccounted = unaccounted,
        }, _random);
        var planned = _observed; // stops come first and may forget replicas the starts replace
        foreach (var action in plan.Actions)
        {
            switch (action)
            {
                case StartOn start when _agents.TryGetValue(start.Node, out var agent):
                    _pending[start.Id] = (new PendingStart(start.Node, start.Generation), now + _settings.PendingTimeout);
                    if (start.Replaces is { } replaced)
                    {
                        _superseded.Add(replaced);
                        if (planned.Replicas.GetValueOrDefault(replaced.ToString()) is { } old
                            && planned.Nodes.GetValueOrDefault(old.Node.Value)?.Reachability is NodeReachability.Unreachable or NodeReachability.Down)
                        {
                            _replacedAway[replaced] = old.Node; // remembered until that node reports again
                        }
                    }
                    agent.Tell(new AgentProtocol.StartReplica(start.Id, start.Spec, start.Generation));
                    break;
                case StopOn stop when _agents.TryGetValue(stop.Node, out var agent):
                    _pending.Remove(stop.Id); // a start not yet reported: the agent gets the stop after it
                    if (_observed.Replicas.TryGetValue(stop.Id.ToString(), out var status))
                    {
                        _observed = _observed.WithReplica(status with { Phase = ReplicaPhase.Stopping });
                    }
                    agent.Tell(new AgentProtocol.StopReplica(stop.Id, stop.Reason));
                    break;
                case StopOn stop:
                    // No agent to tell: the replica's node is gone; forgetting it is all there is to do.
                    _pending.Remove(stop.Id);
                    _observed = _observed.WithoutReplica(stop.Id);
                    break;
                case MigrateOn move:
                    BeginMigration(move, now);
                    break;
            }
        }
        RecordDrainBlockers(plan);
        ReportUnschedulable(plan, now);
        LogDeferred(plan);
        RebalanceIfDue(plan, now);
        WatchRollouts(now);
    }

    /// <summary>
    /// ReportUnschedulable records, per service, the replicas no node could take and why, as an
    /// event visible in describe and events — only when the text changes, since the same plan
    /// repeats every reconcile tick. A service that places again is forgotten, so a later
    /// shortage is reported anew. With no worker at all (before any agent has reported) there
    /// is no node to give a reason for: that is only logged, once.
    /// </summary>
    private void ReportUnschedulable(ReplicaPlan plan, DateTimeOffset now)
    {
        var events = new List<IServiceEvent>();
        var seen = new HashSet<ServiceName>();
        foreach (var item in plan.Unschedulable.Where(u => u.Replica is null && u.Reasons.Count > 0))
        {
            if (_desired.Find(item.Service) is not { } entry || !seen.Add(item.Service))
            {
                continue;
            }
            var e = new ServiceEvents.ServiceUnschedulable(item.Service, item.Count, item.Summarize(), entry.Generation, now);
            var text = ServiceEvents.Describe(e);
            if (_unschedulable.GetValueOrDefault(item.Service) != text)
            {
                _unschedulable[item.Service] = text;
                _log.Warning("{0}", text);
                events.Add(e);
            }
        }
        foreach (var service in _unschedulable.Keys.Where(s => !seen.Contains(s)).ToList())
        {
            _unschedulable.Remove(service);
            _log.Info("{0}: no replica is unschedulable any more", service);
        }
        if (events.Count > 0)
        {
            PersistEvents(events, () => { });
        }
    }

    /// <summary>LogDeferred logs work the planner leaves for later (or cannot place for want of any worker), once per reason rather than every tick.</summary>
    private void LogDeferred(ReplicaPlan plan)
    {
        var now = plan.Deferred.Select(d => d.ToString())
            .Concat(plan.Unschedulable.Where(u => u.Reasons.Count == 0).Select(u => $"{u.Service}: no worker node has reported yet"))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var text in now.Where(t => !_deferred.Contains(t)))
        {
            _log.Info("deferred {0}", text);
        }
        _deferred.Clear();
        _deferred.UnionWith(now);
    }

    /// <summary>
    /// RememberUnschedulable seeds the last reported reasons from the journal's history after a
    /// restart, so a controller that comes back does not repeat an event it already recorded.
    /// </summary>
    private void RememberUnschedulable()
    {
        foreach (var entry in _desired.Services.Values)
        {
            if (_desired.EventsOf(entry.Name).LastOrDefault() is ServiceEvents.ServiceUnschedulable last)
            {
                _unschedulable[entry.Name] = ServiceEvents.Describe(last);
            }
        }
    }

    /// <summary>MeshView answers a node's routing mesh: the whole view, or that its <paramref name="known"/> version is current.</summary>
    private object MeshView(long known)
    {
        if (_meshViewOf is not { } of || !ReferenceEquals(of.Desired, _desired) || !ReferenceEquals(of.Observed, _observed))
        {
            _meshViewOf = (_desired, _observed);
            _meshViewVersion++;
        }
        return known == _meshViewVersion
            ? new ControllerProtocol.MeshViewUnchanged(_meshViewVersion)
            : new ControllerProtocol.MeshView(
                _meshViewVersion,
                ServiceSummaries(),
                _observed.Replicas.Values.ToList(),
                _observed.Nodes.Values.ToList());
    }

    private List<ControllerProtocol.ServiceSummary> ServiceSummaries() => _desired.Services.Values.Select(Summary).ToList();

    private ControllerProtocol.ServiceSummary Summary(ServiceEntry entry)
    {
        var replicas = _observed.ReplicasOf(entry.Name);
        return new ControllerProtocol.ServiceSummary(
            entry,
            replicas.Count(r => r.Phase is ReplicaPhase.Running or ReplicaPhase.Healthy),
            replicas.Count(r => r.Phase == ReplicaPhase.Healthy || (r.Phase == ReplicaPhase.Running && r.Health == ReplicaHealth.Healthy)));
    }

    private sealed class Reconcile
    {
        public static readonly Reconcile Instance = new();
    }
}
