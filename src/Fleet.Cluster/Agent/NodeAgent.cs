using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Agent;

/// <summary>AgentSettings describe the node an agent runs on and how often it reports.</summary>
public sealed record AgentSettings(NodeStatus Node, TimeSpan ReportInterval);

/// <summary>
/// NodeAgent is the per-node actor: it adopts what the driver already runs, carries out the
/// controller's start and stop requests through the <see cref="IReplicaDriver"/>, and reports
/// every change plus a full inventory on a timer (which is how a new or failed-over controller
/// learns the node's reality). It never decides anything.
/// </summary>
public sealed class NodeAgent : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>ActorName is the agent's name under /user on every node.</summary>
    public const string ActorName = "node-agent";

    private const string ReportTimer = "report";

    private readonly AgentSettings _settings;
    private readonly IReplicaDriver _driver;
    private readonly IActorRef _controller;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<ReplicaId, ReplicaStatus> _replicas = [];
    private IDisposable? _subscription;

    public NodeAgent(AgentSettings settings, IReplicaDriver driver, IActorRef controller)
    {
        _settings = settings;
        _driver = driver;
        _controller = controller;

        Receive<Adopted>(m =>
        {
            foreach (var replica in m.Replicas)
            {
                _replicas[replica.Id] = replica;
            }
            _log.Info("node {0}: adopted {1} replicas through driver {2}", _settings.Node.Name, m.Replicas.Count, _driver.Name);
            Report();
            Timers.StartPeriodicTimer(ReportTimer, Tick.Instance, _settings.ReportInterval);
            Become(Ready);
        });
        Receive<Status.Failure>(f =>
        {
            _log.Error(f.Cause, "node {0}: listing existing replicas failed", _settings.Node.Name);
            throw new InvalidOperationException("replica adoption failed", f.Cause);
        });
        ReceiveAny(_ => Stash.Stash());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <summary>Props makes the agent's props; <paramref name="controller"/> is the controller singleton's proxy.</summary>
    public static Props Props(AgentSettings settings, IReplicaDriver driver, IActorRef controller) =>
        Akka.Actor.Props.Create(() => new NodeAgent(settings, driver, controller));

    protected override void PreStart()
    {
        _subscription = _driver.Subscribe(new Forwarder(Self));
        _driver.AdoptAsync(CancellationToken.None).PipeTo(Self, success: list => new Adopted(list));
    }

    protected override void PostStop() => _subscription?.Dispose();

    private void Ready()
    {
        Receive<AgentProtocol.StartReplica>(start =>
        {
            if (_replicas.ContainsKey(start.Id))
            {
                return;
            }
            Change(new ReplicaStatus(start.Id, _settings.Node.Name, start.Generation, ReplicaPhase.Pending, ReplicaHealth.Unknown, null, null, 0, null));
            var id = start.Id;
            var generation = start.Generation;
            _driver.StartAsync(start, CancellationToken.None)
                .PipeTo(Self, success: () => Done.Instance, failure: e => new StartFailed(id, generation, e.Message));
        });
        Receive<AgentProtocol.StopReplica>(stop =>
        {
            if (_replicas.TryGetValue(stop.Id, out var status))
            {
                Change(status with { Phase = ReplicaPhase.Stopping });
            }
            var id = stop.Id;
            _driver.StopAsync(stop.Id, CancellationToken.None)
                .PipeTo(Self, success: () => Done.Instance, failure: e => new StopFailed(id, e.Message));
        });
        Receive<MigrationProtocol.ThawReplica>(thaw =>
        {
            if (_driver is IMigratingDriver migrating)
            {
                var id = thaw.Replica;
                migrating.ThawAsync(thaw.Replica, thaw.Migration, CancellationToken.None)
                    .PipeTo(Self, success: () => Done.Instance, failure: e => new StopFailed(id, $"thaw: {e.Message}"));
            }
        });
        Receive<MigrationProtocol.MigrationProgress>(progress => _controller.Tell(progress));
        Receive<AgentProtocol.RequestInventory>(_ => Report());
        Receive<Tick>(_ => Report());
        Receive<DriverChanged>(m => Change(m.Status));
        Receive<DriverRemoved>(m =>
        {
            if (_replicas.Remove(m.Id))
            {
                _controller.Tell(new AgentProtocol.ReplicaRemoved(m.Id, _settings.Node.Name));
            }
        });
        Receive<StartFailed>(m =>
        {
            _log.Warning("node {0}: starting {1} failed: {2}", _settings.Node.Name, m.Id, m.Reason);
            Change(new ReplicaStatus(m.Id, _settings.Node.Name, m.Generation, ReplicaPhase.Failed, ReplicaHealth.Unknown, null, null, 0, m.Reason));
        });
        Receive<StopFailed>(m => _log.Warning("node {0}: stopping {1} failed: {2}", _settings.Node.Name, m.Id, m.Reason));
        Receive<Done>(_ => { });
        Stash.UnstashAll();
    }

    private void Change(ReplicaStatus status)
    {
        _replicas[status.Id] = status;
        _controller.Tell(new AgentProtocol.ReplicaStatusChanged(status));
    }

    private void Report() => _controller.Tell(new AgentProtocol.NodeInventory(
        _settings.Node with { LastSeen = DateTimeOffset.UtcNow },
        _replicas.Values.OrderBy(r => r.Id.ToString(), StringComparer.Ordinal).ToList()));

    private sealed record Adopted(IReadOnlyList<ReplicaStatus> Replicas);

    private sealed record DriverChanged(ReplicaStatus Status);

    private sealed record DriverRemoved(ReplicaId Id);

    private sealed record StartFailed(ReplicaId Id, long Generation, string Reason);

    private sealed record StopFailed(ReplicaId Id, string Reason);

    private sealed class Done
    {
        public static readonly Done Instance = new();
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    private sealed class Forwarder(IActorRef agent) : IReplicaObserver, IMigrationObserver
    {
        public void MigrationProgressed(MigrationProtocol.MigrationProgress progress) => agent.Tell(progress);

        public void Changed(ReplicaStatus status) => agent.Tell(new DriverChanged(status));

        public void Removed(ReplicaId id) => agent.Tell(new DriverRemoved(id));
    }
}
