using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.State;
using Fleet.Scheduling.Rebalancing;

namespace Fleet.Cluster.Control;

/// <summary>
/// The rebalance side of the controller: evening out replicas when a node joins, comes back or
/// is uncordoned, and on `fleetctl rebalance`.
/// <para>
/// Every evaluation shows the pure <see cref="RebalanceTrigger"/> the nodes eligible now (a
/// reachable worker with a live agent, schedulable); a newcomer makes a rebalance due after
/// <c>rebalance.settleDelay</c>, restarted by every further newcomer, so a flapping node causes
/// no churn. The controller's very first picture is a baseline, not a join. While a rebalance is
/// due, each evaluation whose own plan is empty (the cluster has converged: nothing to start,
/// stop or move for other reasons) asks the planner for up to <c>rebalance.maxConcurrent</c>
/// moves (moves of drains count too) and starts them; the rebalance ends when a round plans
/// nothing and none of its moves is in flight. The planner's hysteresis (a service's replica
/// moves only when its node holds at least <c>rebalance.threshold</c> ≥ 2 more than the target)
/// guarantees it ends and never undoes itself.
/// </para>
/// <para>
/// Each move is journaled as a <see cref="RebalanceEvents.ReplicaRebalanced"/> event with its
/// reason and carried out by <see cref="RequestMove"/>, the one seam through which a rebalance
/// moves a replica — today the drain's moves (make-before-break for stateless replicas,
/// stop-first for stateful ones, which move only with <c>rebalance.stateful: true</c>).
/// </para>
/// </summary>
public sealed partial class ClusterController
{
    /// <summary>MoveHistoryLimit bounds the moves of the current (or last) rebalance kept for `fleetctl rebalance`.</summary>
    private const int MoveHistoryLimit = 200;

    /// <summary>
    /// MaxGivenUp ends a rebalance once that many of its moves were given up (a replacement that
    /// fails to start, e.g. an image the new node cannot pull): the planner would pick the same
    /// move again at once, and each attempt would cost a start, a stop and an event.
    /// </summary>
    private const int MaxGivenUp = 3;

    private readonly List<RebalanceProtocol.Move> _rebalanceMoves = [];
    private readonly HashSet<ReplicaId> _rebalancing = [];
    private RebalanceTrigger _rebalance = RebalanceTrigger.Initial;
    private DateTimeOffset? _rebalanceRunDue;
    private bool _rebalanceRequested;

    /// <summary>RegisterRebalance adds the handlers of `fleetctl rebalance` (called from the constructor).</summary>
    private void RegisterRebalance()
    {
        Command<RebalanceProtocol.Rebalance>(HandleRebalance);
        Command<RebalanceProtocol.GetRebalance>(_ => Sender.Tell(RebalanceStatus([])));
    }

    private void HandleRebalance(RebalanceProtocol.Rebalance command)
    {
        var now = _clock.GetUtcNow();
        if (command.DryRun)
        {
            var plan = _planner.Rebalance(CurrentPlanInput(now), RebalanceOptions.From(_settings.Rebalance), _random);
            var moves = plan.Actions.OfType<MigrateOn>()
                .Select(m => new RebalanceProtocol.Move(m.Id, m.From, m.To, null, m.Reason, RebalanceProtocol.MoveState.Planned))
                .ToList();
            Sender.Tell(new RebalanceProtocol.RebalanceResponse(moves, Notes(plan, moves.Count), _rebalance.DueAt is not null, _rebalance.Reason));
            return;
        }
        _rebalance = _rebalance.Requested(now, "requested by fleetctl rebalance");
        _rebalanceRequested = true;
        ReconcileNow();
        Sender.Tell(RebalanceStatus(_rebalance.DueAt is null ? [] : [$"waiting for the cluster to converge before moving anything (rebalance: {_rebalance.Reason})"]));
    }

    /// <summary>
    /// RebalanceIfDue runs after every evaluation's plan was carried out: it follows the eligible
    /// nodes and, when a rebalance is due and the cluster has converged, starts the next round.
    /// </summary>
    private void RebalanceIfDue(ReplicaPlan evaluated, DateTimeOffset now)
    {
        var settings = _settings.Rebalance;
        var before = _rebalance.DueAt;
        _rebalance = _rebalance.Observe(EligibleNodes(), now, settings.SettleDelay);
        if (_rebalance.DueAt != before && _rebalance.DueAt is { } due && due > now)
        {
            _log.Info("{0}: rebalance {1} at {2:O} unless another node joins first", _rebalance.Reason,
                settings.Enabled ? "due" : "would be due (rebalance.enabled is false)", due);
        }
        _rebalancing.RemoveWhere(id => !_migrations.ContainsKey(id));
        if (!_rebalance.IsDue(now))
        {
            return;
        }
        if (!settings.Enabled && !_rebalanceRequested)
        {
            _rebalance = _rebalance.Completed();
            return;
        }
        if (_rebalanceRunDue != _rebalance.DueAt)
        {
            _rebalanceRunDue = _rebalance.DueAt;
            _rebalanceMoves.Clear();
            _log.Info("rebalancing ({0})", _rebalance.Reason);
        }
        if (evaluated.Actions.Count > 0)
        {
            return; // still converging: the replicas to even out are not all there yet
        }
        var givenUp = _rebalanceMoves.Count(m => StateOf(m) == RebalanceProtocol.MoveState.GivenUp);
        if (givenUp >= MaxGivenUp && _rebalancing.Count == 0)
        {
            _log.Warning("rebalance ({0}) stopped after {1} moves were given up (see the log for why); `fleetctl rebalance` tries again",
                _rebalance.Reason, givenUp);
            _rebalance = _rebalance.Completed();
            _rebalanceRequested = false;
            return;
        }
        var plan = _planner.Rebalance(CurrentPlanInput(now), RebalanceOptions.From(settings), _random);
        var moves = plan.Actions.OfType<MigrateOn>().ToList();
        if (moves.Count == 0)
        {
            if (_rebalancing.Count == 0)
            {
                _log.Info("rebalance ({0}) done: {1} moves", _rebalance.Reason, _rebalanceMoves.Count);
                _rebalance = _rebalance.Completed();
                _rebalanceRequested = false;
            }
            return;
        }
        var events = new List<IClusterEvent>();
        foreach (var move in moves)
        {
            var entry = _desired.Find(move.Id.Service);
            var e = new RebalanceEvents.ReplicaRebalanced(move.Id, move.From, move.To, move.Replacement, move.Reason, _rebalance.Reason, entry?.Generation ?? move.Generation, now);
            _log.Info("{0}", RebalanceEvents.Describe(e));
            events.Add(e);
            _rebalancing.Add(move.Id);
            if (_rebalanceMoves.Count < MoveHistoryLimit)
            {
                _rebalanceMoves.Add(new RebalanceProtocol.Move(move.Id, move.From, move.To, move.Replacement, move.Reason, RebalanceProtocol.MoveState.Moving));
            }
            RequestMove(move, now);
        }
        PersistEvents(events, () => { });
    }

    /// <summary>
    /// RequestMove is the one seam through which a rebalance moves a replica: today the drain's
    /// move (<see cref="BeginMigration"/>); a migrator that carries stateful data can take its
    /// place here without the rebalance changing.
    /// </summary>
    private void RequestMove(MigrateOn move, DateTimeOffset now) => BeginMigration(move, now);

    /// <summary>EligibleNodes are the nodes a rebalance may move replicas to: reachable workers with a live agent, schedulable.</summary>
    private IEnumerable<NodeName> EligibleNodes() =>
        _observed.Nodes.Values
            .Where(n => n.Roles.Contains(Fleet.Core.Specs.NodeRole.Worker)
                && n.Reachability == NodeReachability.Up
                && _agents.ContainsKey(n.Name)
                && _desired.SchedulingOf(n.Name) == NodeScheduling.Schedulable)
            .Select(n => n.Name);

    /// <summary>CurrentPlanInput is the planner's input for the controller's view right now (as an evaluation builds it).</summary>
    private PlanInput CurrentPlanInput(DateTimeOffset now)
    {
        var workers = _observed.Nodes.Values
            .Where(n => n.Roles.Contains(Fleet.Core.Specs.NodeRole.Worker) && (_agents.ContainsKey(n.Name) || n.Reachability != NodeReachability.Up))
            .Select(n => n.Name)
            .ToList();
        var pending = _pending.ToDictionary(p => p.Key, p => p.Value.Start);
        return new PlanInput(_desired, _observed, pending, workers, _superseded, now) { Migrations = MigrationsInFlight(), FenceMargin = _settings.FenceMargin };
    }

    /// <summary>RebalanceStatus is the current (or last) rebalance: its moves with where each is now.</summary>
    private RebalanceProtocol.RebalanceResponse RebalanceStatus(IReadOnlyList<string> notes)
    {
        var moves = _rebalanceMoves.Select(m => m with { State = StateOf(m) }).ToList();
        var inProgress = _rebalance.DueAt is not null || _rebalancing.Count > 0;
        return new RebalanceProtocol.RebalanceResponse(moves, notes, inProgress, _rebalance.Reason);
    }

    private RebalanceProtocol.MoveState StateOf(RebalanceProtocol.Move move)
    {
        if (_migrations.ContainsKey(move.Replica))
        {
            return RebalanceProtocol.MoveState.Moving;
        }
        if (move.Replacement is not { } replacement || _superseded.Contains(replacement))
        {
            return RebalanceProtocol.MoveState.GivenUp;
        }
        return _observed.Replicas.ContainsKey(replacement.ToString()) || _pending.ContainsKey(replacement)
            ? RebalanceProtocol.MoveState.Done
            : RebalanceProtocol.MoveState.GivenUp;
    }

    /// <summary>Notes say why a dry run plans what it plans: what the planner deferred, or that the cluster is balanced.</summary>
    private List<string> Notes(ReplicaPlan plan, int moves)
    {
        var notes = plan.Deferred.Select(d => d.ToString()).ToList();
        if (moves == 0 && notes.Count == 0)
        {
            var r = _settings.Rebalance;
            notes.Add($"balanced: no service has a node with {r.Threshold} or more replicas than another node that can take one, " +
                $"and no node is more than {r.LoadGap * 100:0} points busier than another (services rolling out, scaling or moving are left alone)");
        }
        if (moves > 0 && _settings.Rebalance.MaxConcurrent <= moves)
        {
            notes.Add($"at most {_settings.Rebalance.MaxConcurrent} moves at a time (rebalance.maxConcurrent): later rounds follow as these complete");
        }
        return notes;
    }
}
