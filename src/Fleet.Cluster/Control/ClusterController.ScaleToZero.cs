using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;
using Fleet.Scheduling.Autoscaling;

namespace Fleet.Cluster.Control;

/// <summary>
/// The zero path of autoscaling (<c>autoscale: { min: 0, idleAfter }</c>):
/// <code>
/// every node's mesh ── MeshActivity ──► _meshActivity (MeshActivityLedger)
///                                          └─ idle check every second: ScaleToZero.DecideIdle
///                                               → ServiceAutoscaled(→ 0, "web 2 → 0: idle for 5m")
/// a node's mesh holds a connection ── WakeService ──► ScaleToZero.DecideWake
///      → the replica started on the node that holds the connection when it fits there (no hop
///        between nodes; told before the journal write returns), else wherever the planner puts
///        it once ServiceAutoscaled(0 → 1, reason) is persisted
///      → its first report that it takes connections ── ServiceReady ──► every node that asked,
///        whose feeder refreshes its routes at once instead of at its next round
/// </code>
/// The desired count goes through the journal like any scale (visible in `fleetctl events` and
/// describe, and replayed after a fail-over); what the meshes report is soft state.
/// </summary>
public sealed partial class ClusterController
{
    private const string IdleTimer = "scale-to-zero";

    /// <summary>IdleCheckInterval is how often idle services are looked for; idleAfter is met within it.</summary>
    private static readonly TimeSpan IdleCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>WaiterTimeout forgets a node waiting for a wake that never came (its held connection has closed by then).</summary>
    private static readonly TimeSpan WaiterTimeout = TimeSpan.FromMinutes(2);

    private readonly MeshActivityLedger _meshActivity = new();
    private readonly Dictionary<ServiceName, Dictionary<IActorRef, DateTimeOffset>> _wakeWaiters = [];
    private readonly HashSet<ServiceName> _scaling = [];
    private DateTimeOffset? _watchingIdleSince;

    /// <summary>ScaleToZeroCommands registers the zero path's messages (called from the constructor).</summary>
    private void ScaleToZeroCommands()
    {
        Command<ScaleToZeroProtocol.MeshActivity>(HandleMeshActivity);
        Command<ScaleToZeroProtocol.WakeService>(HandleWake);
        Command<CheckIdle>(_ => CheckIdleServices());
    }

    private void HandleMeshActivity(ScaleToZeroProtocol.MeshActivity activity)
    {
        var now = _clock.GetUtcNow();
        WatchIdle(now);
        foreach (var service in activity.Services)
        {
            _meshActivity.Record(activity.Node, service.Service, service.SinceLastConnection, service.Active, service.Held, now);
            // A wake message lost on the way is made up for by the next report of a held connection.
            if (service.Held > 0)
            {
                Wake(service.Service, activity.Node, waiter: null, now);
            }
        }
    }

    private void HandleWake(ScaleToZeroProtocol.WakeService wake)
    {
        var now = _clock.GetUtcNow();
        WatchIdle(now);
        _meshActivity.Record(wake.Node, wake.Service, TimeSpan.Zero, 0, 1, now);
        Wake(wake.Service, wake.Node, Sender.IsNobody() ? null : Sender, now);
    }

    /// <summary>
    /// Wake scales a service at zero to one (once, however many connections wait) and remembers
    /// <paramref name="waiter"/> to tell it when a replica takes connections. A waiter of a service
    /// that already has a replica taking connections is told at once (its routes are stale).
    /// </summary>
    private void Wake(ServiceName service, NodeName node, IActorRef? waiter, DateTimeOffset now)
    {
        if (_desired.Find(service) is not { } entry || !ScaleToZero.Applies(entry.Spec.Autoscale))
        {
            return;
        }
        if (waiter is not null)
        {
            if (_observed.ReplicasOf(service).Any(r => TakesConnections(r, entry.Spec)))
            {
                waiter.Tell(new ScaleToZeroProtocol.ServiceReady(service));
                return;
            }
            if (!_wakeWaiters.TryGetValue(service, out var waiters))
            {
                _wakeWaiters[service] = waiters = [];
            }
            waiters[waiter] = now;
        }
        if (_scaling.Contains(service) || ScaleToZero.DecideWake(service, entry.Spec.Autoscale, entry.Spec.Replicas, node) is not { } decision)
        {
            return;
        }
        _log.Info("{0}", decision.Reason);
        // The replica starts before the journal write returns: the connection waits for the start,
        // not for the disk. Commands are stashed until the write is done, so nothing observes the
        // start in between; should the write fail, the controller restarts from the journal and
        // stops the replica as surplus.
        var scaled = Scaled(entry, decision, now);
        StartWokenOn(service, node, now, _desired.Apply(scaled));
        PersistDecision(entry.Name, scaled);
    }

    private void CheckIdleServices()
    {
        var now = _clock.GetUtcNow();
        _meshActivity.Forget(s => _desired.Find(s) is not null);
        foreach (var (service, waiters) in _wakeWaiters.ToList())
        {
            foreach (var stale in waiters.Where(w => now - w.Value > WaiterTimeout).Select(w => w.Key).ToList())
            {
                waiters.Remove(stale);
            }
            if (waiters.Count == 0 || _desired.Find(service) is null)
            {
                _wakeWaiters.Remove(service);
            }
        }
        if (_watchingIdleSince is not { } watching || (_awaitingInventory.Count > 0 && now < _planAfter))
        {
            return;
        }
        foreach (var entry in _desired.Services.Values)
        {
            if (_scaling.Contains(entry.Name))
            {
                continue;
            }
            var since = entry.UpdatedAt > watching ? entry.UpdatedAt : watching;
            if (ScaleToZero.DecideIdle(entry.Name, entry.Spec.Autoscale, entry.Spec.Replicas, _meshActivity.UsageOf(entry.Name, now), since, now) is { } decision)
            {
                _log.Info("{0}", decision.Reason);
                PersistDecision(entry.Name, Scaled(entry, decision, now));
            }
        }
    }

    // The zero path is autoscaling too: the same event as the autoscaler's decisions, with its reason.
    private static ServiceEvents.ServiceAutoscaled Scaled(ServiceEntry entry, ScaleToZeroDecision decision, DateTimeOffset now) =>
        new(entry.Name, decision.To, decision.From, decision.Reason, entry.Generation + 1, now);

    /// <summary>PersistDecision journals the new count with its reason, then plans.</summary>
    private void PersistDecision(ServiceName service, ServiceEvents.ServiceAutoscaled scaled)
    {
        _scaling.Add(service);
        PersistEvents([scaled], () =>
        {
            _scaling.Remove(service);
            ReconcileNow();
        });
    }

    /// <summary>
    /// StartWokenOn starts the woken service's replica on the node that holds the connection when
    /// the planner, given that node alone, places it there (resources, ports, constraints,
    /// cordon): the held connection then reaches it over the node's own bridge. Otherwise the
    /// reconcile that follows places it wherever it fits.
    /// </summary>
    private void StartWokenOn(ServiceName service, NodeName node, DateTimeOffset now, DesiredState desired)
    {
        if (!_agents.TryGetValue(node, out var agent) || (_awaitingInventory.Count > 0 && now < _planAfter)
            || _observed.Nodes.GetValueOrDefault(node.Value) is not { Reachability: NodeReachability.Up } status
            || !status.Roles.Contains(NodeRole.Worker))
        {
            return;
        }
        var pending = _pending.ToDictionary(p => p.Key, p => p.Value.Start);
        var input = new PlanInput(desired, _observed, pending, [node], _superseded, now) { Migrations = MigrationsInFlight(), FenceMargin = _settings.FenceMargin };
        var start = _planner.Plan(input, _random).Actions.OfType<StartOn>()
            .FirstOrDefault(s => s.Id.Service == service && s.Node == node && s.Replaces is null);
        if (start is null)
        {
            return;
        }
        _pending[start.Id] = (new PendingStart(start.Node, start.Generation), now + _settings.PendingTimeout);
        agent.Tell(new AgentProtocol.StartReplica(start.Id, start.Spec, start.Generation));
    }

    /// <summary>NotifyWakeWaiters tells the nodes waiting for <paramref name="status"/>'s service once the replica takes connections.</summary>
    private void NotifyWakeWaiters(ReplicaStatus status)
    {
        if (!_wakeWaiters.TryGetValue(status.Service, out var waiters) || _desired.Find(status.Service) is not { } entry
            || !TakesConnections(status, entry.Spec))
        {
            return;
        }
        _wakeWaiters.Remove(status.Service);
        foreach (var waiter in waiters.Keys)
        {
            waiter.Tell(new ScaleToZeroProtocol.ServiceReady(status.Service));
        }
    }

    /// <summary>WatchIdle starts the idle check once the first mesh has reported: idleness is counted from then at the earliest.</summary>
    private void WatchIdle(DateTimeOffset now)
    {
        if (_watchingIdleSince is null)
        {
            _watchingIdleSince = now;
            Timers.StartPeriodicTimer(IdleTimer, CheckIdle.Instance, IdleCheckInterval);
        }
    }

    /// <summary>TakesConnections is the mesh's rule (MeshRoutes.TakesConnections): running with an address, and healthy when a health check is declared.</summary>
    private static bool TakesConnections(ReplicaStatus replica, ServiceSpec spec) =>
        replica.Ip is not null
        && replica.Phase is ReplicaPhase.Running or ReplicaPhase.Healthy
        && (spec.Health is null || replica.Phase == ReplicaPhase.Healthy || replica.Health == ReplicaHealth.Healthy);

    private sealed class CheckIdle
    {
        public static readonly CheckIdle Instance = new();
    }
}
