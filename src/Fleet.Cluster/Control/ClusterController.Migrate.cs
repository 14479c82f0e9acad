using Akka.Actor;
using Akka.Event;
using Fleet.Core.Ids;
using Fleet.Core.Specs;
using Fleet.Core.State;

namespace Fleet.Cluster.Control;

/// <summary>
/// The Migrator: `fleetctl migrate`, and drain's moves of stateful replicas, as journaled
/// migrations. Each one is a <see cref="MigrationRecord"/> in the desired state, moved on by
/// persisted <see cref="MigrationEvents"/>; what to do next is decided by the pure
/// <see cref="MigrationStateMachine"/> from the record and the agents' reports, so a controller
/// that takes over after a fail-over finishes or rolls back exactly what its predecessor started.
/// <para>
/// Stateless (make-before-break): the replacement starts on the target; once available the old
/// replica stops with its grace period (the mesh already sends new connections to the
/// replacement, in-flight ones finish). Stateful (freeze-and-copy): the target's agent starts
/// the replacement with <see cref="AgentProtocol.StartReplica.MigrateFrom"/>: it pulls the
/// writable layer and volumes from the source's node while the source runs, freezes the source,
/// copies what changed, fences the source and starts. Failures before the commit thaw the source
/// (<see cref="MigrationProtocol.ThawReplica"/>); from the commit on the source is only removed.
/// </para>
/// </summary>
public sealed partial class ClusterController
{
    private void RegisterMigrationCommands()
    {
        Command<MigrationCommands.Migrate>(HandleMigrate);
        Command<MigrationCommands.GetMigrations>(_ => Sender.Tell(new MigrationCommands.MigrationsResponse(
            _desired.Migrations.Values.OrderByDescending(m => m.StartedAt).ToList())));
        Command<MigrationProtocol.MigrationProgress>(HandleMigrationProgress);
    }

    private IEnumerable<MigrationRecord> JournaledInFlight() => _desired.Migrations.Values.Where(m => !m.IsFinished);

    private void HandleMigrate(MigrationCommands.Migrate command)
    {
        var refusal = MigrateRefusal(command, out var target);
        if (refusal is not null)
        {
            Sender.Tell(new MigrationCommands.MigrateResult(false, refusal, null));
            return;
        }
        var replacement = NewReplacementId(command.Replica.Service);
        var reason = command.To is null ? $"requested; the scheduler chose {target}" : "requested";
        StartJournaledMigration(command.Replica, target, replacement, command.BandwidthBytesPerSecond, reason, Sender);
    }

    /// <summary>MigrateRefusal says why a migrate request cannot be carried out (null: it can) and picks the target node.</summary>
    private string? MigrateRefusal(MigrationCommands.Migrate command, out NodeName target)
    {
        target = default;
        if (_observed.Replicas.GetValueOrDefault(command.Replica.ToString()) is not { } replica)
        {
            return $"replica {command.Replica} not found";
        }
        if (_desired.Find(replica.Service) is null)
        {
            return $"service {replica.Service} is not declared (the replica is being removed)";
        }
        if (!replica.IsActive)
        {
            return $"replica {replica.Id} is {replica.Phase.ToString().ToLowerInvariant()}; only a running replica moves";
        }
        if (_migrations.ContainsKey(replica.Id) || JournaledInFlight().Any(m => m.Replica == replica.Id || m.Replacement == replica.Id))
        {
            return $"replica {replica.Id} is already moving";
        }
        if (!_agents.ContainsKey(replica.Node))
        {
            return $"node {replica.Node} of {replica.Id} is not reachable";
        }
        var stateful = _desired.Find(replica.Service)!.Spec.Stateful;
        if (stateful && !CanCarryState(replica.Node))
        {
            return $"node {replica.Node} cannot hand over a stateful replica's data (its driver has no freeze-and-copy)";
        }
        var candidates = MigrationTargets(replica).Where(n => !stateful || CanCarryState(n)).ToList();
        if (command.To is { } to)
        {
            if (to == replica.Node)
            {
                return $"replica {replica.Id} already runs on {to}";
            }
            if (!candidates.Contains(to))
            {
                return !_observed.Nodes.ContainsKey(to.Value) ? $"node {to} not found"
                    : !_agents.ContainsKey(to) ? $"node {to} is not reachable"
                    : _desired.SchedulingOf(to) != NodeScheduling.Schedulable ? $"node {to} is {_desired.SchedulingOf(to).ToString().ToLowerInvariant()}"
                    : stateful && !CanCarryState(to) ? $"node {to} cannot take a stateful replica's data (its driver has no freeze-and-copy)"
                    : $"node {to} has no room for a replica of {replica.Service}";
            }
            target = to;
            return null;
        }
        if (candidates.Count == 0)
        {
            return $"no other node can take {replica.Id} (none schedulable, reachable and with room)";
        }
        target = candidates[0];
        return null;
    }

    /// <summary>
    /// MigrationTargets are the nodes a replica may move to, best first: worker nodes whose agent
    /// is there, schedulable, other than its own, with the cpu and memory it requests free; the
    /// one with the fewest replicas of its service, then the fewest replicas, comes first.
    /// </summary>
    private IEnumerable<NodeName> MigrationTargets(ReplicaStatus replica)
    {
        var spec = _desired.Find(replica.Service)!.Spec;
        var summaries = NodeSummaries().Nodes.ToDictionary(n => n.Node.Name);
        return _observed.Nodes.Values
            .Where(n => n.Name != replica.Node && n.Roles.Contains(NodeRole.Worker) && _agents.ContainsKey(n.Name)
                && n.Reachability == NodeReachability.Up && _desired.SchedulingOf(n.Name) == NodeScheduling.Schedulable)
            .Where(n => summaries.TryGetValue(n.Name, out var s)
                && (n.AllocatableMemory is not { } memory || spec.Resources.Memory is not { } want || memory.Bytes - s.UsedMemory.Bytes >= want.Bytes)
                && (n.AllocatableCpu is not { } cpu || spec.Resources.Cpu is not { } wantCpu || cpu.Millicores - s.UsedCpu.Millicores >= wantCpu.Millicores))
            .OrderBy(n => _observed.Replicas.Values.Count(r => r.Node == n.Name && r.Service == replica.Service && r.IsActive))
            .ThenBy(n => summaries[n.Name].Replicas)
            .ThenBy(n => n.Name.Value, StringComparer.Ordinal)
            .Select(n => n.Name);
    }

    /// <summary>CanCarryState is true for a node whose agent says its driver carries stateful migrations (<see cref="MigrationProtocol.CapabilityLabel"/>).</summary>
    private bool CanCarryState(NodeName node) =>
        _observed.Nodes.GetValueOrDefault(node.Value)?.Labels.GetValueOrDefault(MigrationProtocol.CapabilityLabel) == MigrationProtocol.FreezeAndCopy;

    private ReplicaId NewReplacementId(ServiceName service)
    {
        while (true)
        {
            var id = ReplicaId.New(service, _random);
            if (!_observed.Replicas.ContainsKey(id.ToString()) && !_pending.ContainsKey(id)
                && !_migrations.Values.Any(m => m.Replacement == id) && !_desired.Migrations.Values.Any(m => m.Replacement == id))
            {
                return id;
            }
        }
    }

    /// <summary>
    /// StartJournaledMigration journals a migration of <paramref name="replica"/> to
    /// <paramref name="to"/> and, once persisted, asks the target to start the replacement (and,
    /// for a stateful replica, to pull its data). False when it cannot start (the nodes are not
    /// both there). <paramref name="replyTo"/> gets the <see cref="MigrationCommands.MigrateResult"/>.
    /// </summary>
    private bool StartJournaledMigration(ReplicaId replica, NodeName to, ReplicaId replacement, long? bandwidth, string reason, IActorRef? replyTo = null)
    {
        if (_observed.Replicas.GetValueOrDefault(replica.ToString()) is not { } status
            || _desired.Find(replica.Service) is not { } entry
            || !_agents.ContainsKey(status.Node) || !_agents.ContainsKey(to))
        {
            return false;
        }
        if (entry.Spec.Stateful && (!CanCarryState(status.Node) || !CanCarryState(to)))
        {
            return false; // drain falls back to stop-first: the data stays on the old node
        }
        var now = _clock.GetUtcNow();
        var id = $"mig-{Convert.ToHexStringLower(BitConverter.GetBytes(_random.NextInt64()))[..8]}";
        var mode = entry.Spec.Stateful ? MigrationMode.FreezeAndCopy : MigrationMode.MakeBeforeBreak;
        var started = new MigrationEvents.MigrationStarted(id, replica, replacement, status.Node, to, mode, reason, entry.Spec, entry.Generation, now)
        {
            BandwidthBytesPerSecond = bandwidth,
        };
        // Held at once so the planner does not count the replica as unmoved before the event is journaled.
        _pending[replacement] = (new PendingStart(to, entry.Generation), now + _settings.PendingTimeout);
        PersistEvents([started], () =>
        {
            _log.Info("{0}", MigrationEvents.Describe(started));
            var record = _desired.Migrations[id];
            replyTo?.Tell(new MigrationCommands.MigrateResult(true, MigrationEvents.Describe(started), record));
            if (_agents.TryGetValue(to, out var target))
            {
                _pending[replacement] = (new PendingStart(to, entry.Generation), _clock.GetUtcNow() + MigrationStateMachine.Timeout);
                target.Tell(new AgentProtocol.StartReplica(replacement, entry.Spec, entry.Generation)
                {
                    MigrateFrom = mode == MigrationMode.FreezeAndCopy ? new MigrationProtocol.MigrationSource(id, replica, status.Node, bandwidth) : null,
                });
            }
            else
            {
                _pending.Remove(replacement); // the state machine rolls it back: the replacement is never reported
            }
            ReconcileNow();
        });
        return true;
    }

    /// <summary>HandleMigrationProgress journals what the target reports: a phase reached with its figures, or an error (a rollback before the commit).</summary>
    private void HandleMigrationProgress(MigrationProtocol.MigrationProgress progress)
    {
        if (_desired.Migrations.GetValueOrDefault(progress.Migration) is not { IsFinished: false } record)
        {
            return;
        }
        var now = _clock.GetUtcNow();
        if (progress.Error is { } error)
        {
            if (record.Phase < MigrationPhase.Committed)
            {
                RollBack(record, $"{progress.Node}: {error}", now);
            }
            return;
        }
        PersistEvents([new MigrationEvents.MigrationProgressed(record.Id, record.Replica, progress.Phase, progress.Timings, now)], () =>
        {
            _log.Info("migration {0}: {1} {2} ({3})", record.Id, record.Replica, progress.Phase.ToString().ToLowerInvariant(), MigrationEvents.Figures(progress.Timings));
            ReconcileNow();
        });
    }

    /// <summary>AdvanceJournaledMigrations runs before every evaluation: each migration in flight takes the step the state machine decides.</summary>
    private void AdvanceJournaledMigrations(DateTimeOffset now)
    {
        foreach (var m in JournaledInFlight().ToList())
        {
            if ((!_observed.Nodes.ContainsKey(m.To.Value) || !_observed.Nodes.ContainsKey(m.From.Value)) && now - m.StartedAt < MigrationStateMachine.Timeout)
            {
                continue; // a new controller whose agents have not all reported yet: no judgement on a partial picture
            }
            var replacement = _observed.Replicas.GetValueOrDefault(m.Replacement.ToString());
            var view = new MigrationView(
                _observed.Replicas.GetValueOrDefault(m.Replica.ToString()),
                replacement,
                _pending.ContainsKey(m.Replacement),
                _agents.ContainsKey(m.To),
                replacement is not null && m.Spec is { } spec && IsAvailable(replacement, spec),
                now);
            var step = MigrationStateMachine.Next(m, view);
            switch (step.Kind)
            {
                case MigrationStepKind.Commit:
                    PersistEvents([new MigrationEvents.MigrationProgressed(m.Id, m.Replica, MigrationPhase.Committed, new MigrationTimings(), now)],
                        () => _log.Info("migration {0}: committed: {1}", m.Id, step.Reason));
                    break;
                case MigrationStepKind.Complete:
                    Complete(m, step.Reason, now);
                    break;
                case MigrationStepKind.RollBack:
                    RollBack(m, step.Reason, now);
                    break;
            }
        }
    }

    private void Complete(MigrationRecord m, string reason, DateTimeOffset now)
    {
        _superseded.Add(m.Replica);
        var timings = m.Mode == MigrationMode.MakeBeforeBreak ? m.Timings with { DowntimeMs = 0 } : m.Timings;
        PersistEvents([new MigrationEvents.MigrationCompleted(m.Id, m.Replica, timings, now)], () =>
        {
            var done = _desired.Migrations.GetValueOrDefault(m.Id) ?? m;
            _log.Info("migration {0}: {1}; stopping {2} on {3} ({4})", m.Id, reason, m.Replica, m.From, MigrationEvents.Figures(done.Timings));
            if (_observed.Replicas.ContainsKey(m.Replica.ToString()) && _agents.TryGetValue(m.From, out var source))
            {
                MarkStopping(m.Replica);
                source.Tell(new AgentProtocol.StopReplica(m.Replica, $"migrated to {m.To} as {m.Replacement}"));
            }
            _settings.MigrationFinished?.Invoke(done);
            ReconcileNow();
        });
    }

    private void RollBack(MigrationRecord m, string reason, DateTimeOffset now)
    {
        _superseded.Add(m.Replacement);
        _pending.Remove(m.Replacement);
        PersistEvents([new MigrationEvents.MigrationRolledBack(m.Id, m.Replica, reason, now)], () =>
        {
            _log.Warning("migration {0} rolled back: {1}; {2} carries on on {3}", m.Id, reason, m.Replica, m.From);
            if (_agents.TryGetValue(m.To, out var target))
            {
                MarkStopping(m.Replacement);
                target.Tell(new AgentProtocol.StopReplica(m.Replacement, $"migration {m.Id} rolled back: {reason}"));
            }
            if (m.Mode == MigrationMode.FreezeAndCopy && _agents.TryGetValue(m.From, out var source))
            {
                source.Tell(new MigrationProtocol.ThawReplica(m.Replica, m.Id));
            }
            _settings.MigrationFinished?.Invoke(_desired.Migrations.GetValueOrDefault(m.Id) ?? m);
            ReconcileNow();
        });
    }
}
