using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.Quantities;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Control;

/// <summary>
/// The node side of the controller: cordon, uncordon and drain (declared, journaled node
/// scheduling), the moves that carry a drain out, and the `get nodes` view.
/// <para>
/// A move (<see cref="MigrateOn"/>) of a stateless replica is make-before-break: the replacement
/// starts on the target, and only once it is available (healthy, or running when the service has
/// no health check) is the old one stopped, with its stop grace period, so requests in flight
/// finish. A stateful replica is stopped first and its replacement started only once the old one
/// is gone: it never runs twice. Its volumes are node-local, so its data does not move with it
/// (moving volumes is the migration issue's work). Moves are soft state: after a fail-over the
/// new controller sees both copies of a stateless move as one surplus and stops the one on the
/// draining node.
/// </para>
/// </summary>
public sealed partial class ClusterController
{
    /// <summary>MigrationTimeout bounds how long a stateless replacement may take to become available before the move is given up (and planned again).</summary>
    public static readonly TimeSpan MigrationTimeout = TimeSpan.FromMinutes(5);

    private readonly Dictionary<ReplicaId, Migration> _migrations = [];
    private readonly Dictionary<NodeName, IReadOnlyList<string>> _drainBlockers = [];
    private readonly Dictionary<NodeName, DateTimeOffset> _firstSeen = [];

    private void HandleNodeCommand(INodeCommand command)
    {
        var (result, events) = _desired.DecideNode(command, _observed.Nodes.Values.Select(n => n.Name).ToList());
        if (events.Count == 0)
        {
            Sender.Tell(result);
            return;
        }
        var replyTo = Sender;
        PersistEvents(events, () =>
        {
            _log.Info("{0}", result.Message);
            if (result.Scheduling != NodeScheduling.Draining)
            {
                _drainBlockers.Remove(command.Node);
            }
            replyTo.Tell(result);
            ReconcileNow();
        });
    }

    private Dictionary<ReplicaId, MigrationInFlight> MigrationsInFlight()
    {
        var moves = _migrations.ToDictionary(m => m.Key, m => new MigrationInFlight(m.Value.To, m.Value.Replacement, m.Value.Stateful));
        foreach (var m in JournaledInFlight())
        {
            moves.TryAdd(m.Replica, new MigrationInFlight(m.To, m.Replacement, m.Mode == MigrationMode.FreezeAndCopy));
        }
        return moves;
    }

    /// <summary>BeginMigration starts a move the plan asked for: the replacement first (stateless) or the stop of the old one (stateful).</summary>
    private void BeginMigration(MigrateOn move, DateTimeOffset now)
    {
        if (!_agents.TryGetValue(move.From, out var from) || !_agents.TryGetValue(move.To, out var to))
        {
            return; // a node left since the snapshot; the next evaluation plans again
        }
        if (move.Stateful && StartJournaledMigration(move.Id, move.To, move.Replacement, null, move.Reason))
        {
            return; // freeze-and-copy through the Migrator: the data moves with the replica
        }
        _migrations[move.Id] = new Migration(move.Id, move.From, move.To, move.Replacement, move.Spec, move.Generation, move.Stateful, now + MigrationTimeout);
        if (move.Stateful)
        {
            _log.Info("moving stateful {0} from {1} to {2} ({3}): stopping it first; {4} starts once it is gone (its volumes stay on {1})",
                move.Id, move.From, move.To, move.Reason, move.Replacement);
            MarkStopping(move.Id);
            from.Tell(new AgentProtocol.StopReplica(move.Id, $"{move.Reason}: moving to {move.To}"));
            return;
        }
        _log.Info("moving {0} from {1} to {2} ({3}): starting {4} there first", move.Id, move.From, move.To, move.Reason, move.Replacement);
        _pending[move.Replacement] = (new PendingStart(move.To, move.Generation), now + _settings.PendingTimeout);
        to.Tell(new AgentProtocol.StartReplica(move.Replacement, move.Spec, move.Generation));
    }

    /// <summary>
    /// AdvanceMigrations runs before every evaluation: a stateless move whose replacement is
    /// available stops the old replica; one whose replacement failed, vanished or took too long is
    /// given up (the replacement is stopped, the old one stays). A stateful move starts its
    /// replacement once the old replica is gone.
    /// </summary>
    private void AdvanceMigrations(DateTimeOffset now)
    {
        foreach (var m in _migrations.Values.ToList())
        {
            var old = _observed.Replicas.GetValueOrDefault(m.Old.ToString());
            if (m.Stateful)
            {
                if (old is not null)
                {
                    continue; // still stopping: never start the replacement beside it
                }
                _migrations.Remove(m.Old);
                if (_agents.ContainsKey(m.From) && _agents.TryGetValue(m.To, out var target))
                {
                    _log.Info("stateful {0} stopped on {1}; starting {2} on {3}", m.Old, m.From, m.Replacement, m.To);
                    _superseded.Add(m.Old);
                    _pending[m.Replacement] = (new PendingStart(m.To, m.Generation), now + _settings.PendingTimeout);
                    target.Tell(new AgentProtocol.StartReplica(m.Replacement, m.Spec, m.Generation));
                }
                continue;
            }
            var replacement = _observed.Replicas.GetValueOrDefault(m.Replacement.ToString());
            var giveUp = old is null || old.Phase == ReplicaPhase.Stopping ? $"{m.Old} is gone or being stopped"
                : replacement is { Phase: ReplicaPhase.Exited or ReplicaPhase.Failed } ? $"{m.Replacement} {replacement.Phase.ToString().ToLowerInvariant()}: {replacement.Reason}"
                : replacement is null && !_pending.ContainsKey(m.Replacement) ? $"{m.Replacement} was never reported by {m.To}"
                : !_agents.ContainsKey(m.To) ? $"{m.To} left"
                : now > m.Deadline ? $"{m.Replacement} not available within {MigrationTimeout.TotalMinutes:0} minutes"
                : null;
            if (giveUp is not null)
            {
                _log.Warning("move of {0} from {1} to {2} given up: {3}", m.Old, m.From, m.To, giveUp);
                _migrations.Remove(m.Old);
                _pending.Remove(m.Replacement);
                _superseded.Add(m.Replacement);
                if (_agents.TryGetValue(m.To, out var target))
                {
                    MarkStopping(m.Replacement);
                    target.Tell(new AgentProtocol.StopReplica(m.Replacement, $"move of {m.Old} given up: {giveUp}"));
                }
                continue;
            }
            if (replacement is not null && IsAvailable(replacement, m.Spec))
            {
                // Make-before-break: the replacement serves; now the old one may go, with its grace period.
                _log.Info("{0} is available on {1}; stopping {2} on {3}", m.Replacement, m.To, m.Old, m.From);
                _migrations.Remove(m.Old);
                _superseded.Add(m.Old);
                if (_agents.TryGetValue(m.From, out var source))
                {
                    MarkStopping(m.Old);
                    source.Tell(new AgentProtocol.StopReplica(m.Old, $"moved to {m.To} as {m.Replacement}"));
                }
            }
        }
    }

    /// <summary>IsAvailable is the scheduler's "available": healthy, or running for a service without a health check.</summary>
    private static bool IsAvailable(ReplicaStatus status, ServiceSpec spec) =>
        status.Phase == ReplicaPhase.Healthy
        || (status.Phase == ReplicaPhase.Running && (spec.Health is null || status.Health == ReplicaHealth.Healthy));

    private void MarkStopping(ReplicaId id)
    {
        if (_observed.Replicas.TryGetValue(id.ToString(), out var status))
        {
            _observed = _observed.WithReplica(status with { Phase = ReplicaPhase.Stopping });
        }
    }

    /// <summary>RecordDrainBlockers keeps, per draining node, why its replicas cannot move (for `get nodes` and `drain`); logged when it changes.</summary>
    private void RecordDrainBlockers(ReplicaPlan plan)
    {
        var now = plan.Unschedulable
            .Where(u => u.Replica is { } id && _observed.Replicas.ContainsKey(id.ToString()))
            .GroupBy(u => _observed.Replicas[u.Replica!.Value.ToString()].Node)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.Select(u => u.ToString()).Order(StringComparer.Ordinal).ToList());
        foreach (var (node, reasons) in now)
        {
            if (!_drainBlockers.TryGetValue(node, out var before) || !before.SequenceEqual(reasons))
            {
                _log.Warning("drain of {0} is stuck: {1}", node, string.Join(" | ", reasons));
            }
        }
        _drainBlockers.Clear();
        foreach (var (node, reasons) in now)
        {
            _drainBlockers[node] = reasons;
        }
    }

    private ControllerProtocol.NodeSummariesResponse NodeSummaries()
    {
        var summaries = _observed.Nodes.Values.Select(node =>
        {
            var replicas = _observed.Replicas.Values.Where(r => r.Node == node.Name).ToList();
            long cpu = 0, memory = 0;
            foreach (var replica in replicas.Where(r => r.Phase is not (ReplicaPhase.Exited or ReplicaPhase.Failed)))
            {
                var resources = _desired.Find(replica.Service)?.Spec.Resources;
                cpu += resources?.Cpu?.Millicores ?? 0;
                memory += resources?.Memory?.Bytes ?? 0;
            }
            return new ControllerProtocol.NodeSummary(
                node,
                _desired.SchedulingOf(node.Name),
                new CpuQuantity(cpu),
                new ByteSize(memory),
                replicas.Count,
                _drainBlockers.GetValueOrDefault(node.Name) ?? [])
            {
                FirstSeen = _firstSeen.TryGetValue(node.Name, out var first) ? first : null,
            };
        }).ToList();
        return new ControllerProtocol.NodeSummariesResponse(summaries);
    }

    /// <summary>Migration is one move in flight: the replica moved, its replacement and where.</summary>
    private sealed record Migration(ReplicaId Old, NodeName From, NodeName To, ReplicaId Replacement, ServiceSpec Spec, long Generation, bool Stateful, DateTimeOffset Deadline);
}
