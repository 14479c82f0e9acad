using Fleet.Core.Ids;
using Fleet.Core.State;

namespace Fleet.Cluster.Tests.State;

/// <summary>
/// MigrationStateMachineTests check the Migrator's pure decisions and the journal's fold: before
/// the commit every failure rolls back, a started replacement commits, after the commit the
/// migration only goes forward, and a rollback journaled after a commit changes nothing.
/// </summary>
public sealed class MigrationStateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private static readonly ReplicaId Old = ReplicaId.Parse("counter-a1a1a");
    private static readonly ReplicaId New = ReplicaId.Parse("counter-b2b2b");
    private static readonly NodeName Node1 = NodeName.Parse("node1");
    private static readonly NodeName Node2 = NodeName.Parse("node2");

    private static MigrationRecord Record(MigrationMode mode, MigrationPhase phase = MigrationPhase.Preparing) =>
        DesiredState.Empty
            .Apply(new MigrationEvents.MigrationStarted("mig-1", Old, New, Node1, Node2, mode, "requested", Specs.Service(), 1, T0))
            .Apply(new MigrationEvents.MigrationProgressed("mig-1", Old, phase, new MigrationTimings(), T0))
            .Migrations["mig-1"];

    private static ReplicaStatus Status(ReplicaId id, NodeName node, ReplicaPhase phase, string? reason = null) =>
        new(id, node, 1, phase, ReplicaHealth.None, null, T0, 0, reason);

    private static MigrationView View(ReplicaStatus? replacement, bool pending = false, bool targetAlive = true, bool available = false, TimeSpan? after = null) =>
        new(Status(Old, Node1, ReplicaPhase.Running), replacement, pending, targetAlive, available, T0 + (after ?? TimeSpan.FromSeconds(5)));

    [Fact]
    public void Stateful_replacement_that_started_commits_then_completes_when_available()
    {
        var copying = Record(MigrationMode.FreezeAndCopy, MigrationPhase.Frozen);
        var started = Status(New, Node2, ReplicaPhase.Running);

        Assert.Equal(MigrationStepKind.Commit, MigrationStateMachine.Next(copying, View(started)).Kind);
        var committed = Record(MigrationMode.FreezeAndCopy, MigrationPhase.Committed);
        Assert.Equal(MigrationStepKind.Wait, MigrationStateMachine.Next(committed, View(started)).Kind);
        Assert.Equal(MigrationStepKind.Complete, MigrationStateMachine.Next(committed, View(Status(New, Node2, ReplicaPhase.Healthy), available: true)).Kind);
    }

    [Theory]
    [InlineData(MigrationPhase.Preparing)]
    [InlineData(MigrationPhase.Copying)]
    [InlineData(MigrationPhase.Frozen)]
    public void Before_the_commit_a_failed_or_lost_target_rolls_back(MigrationPhase phase)
    {
        var m = Record(MigrationMode.FreezeAndCopy, phase);
        var failed = MigrationStateMachine.Next(m, View(Status(New, Node2, ReplicaPhase.Failed, "connection refused")));
        Assert.Equal((MigrationStepKind.RollBack, "counter-b2b2b failed: connection refused"), (failed.Kind, failed.Reason));
        Assert.Equal(MigrationStepKind.RollBack, MigrationStateMachine.Next(m, View(Status(New, Node2, ReplicaPhase.Starting), targetAlive: false)).Kind);
        Assert.Equal(MigrationStepKind.RollBack, MigrationStateMachine.Next(m, View(null)).Kind);
        Assert.Equal(MigrationStepKind.Wait, MigrationStateMachine.Next(m, View(null, pending: true)).Kind);
        Assert.Equal(MigrationStepKind.Wait, MigrationStateMachine.Next(m, View(Status(New, Node2, ReplicaPhase.Starting))).Kind);
        Assert.Equal(MigrationStepKind.RollBack, MigrationStateMachine.Next(m, View(Status(New, Node2, ReplicaPhase.Starting), after: TimeSpan.FromMinutes(6))).Kind);
    }

    [Fact]
    public void After_the_commit_it_never_rolls_back()
    {
        var committed = Record(MigrationMode.FreezeAndCopy, MigrationPhase.Committed);

        Assert.Equal(MigrationStepKind.Complete, MigrationStateMachine.Next(committed, View(Status(New, Node2, ReplicaPhase.Failed, "exit 1"))).Kind);
        Assert.Equal(MigrationStepKind.Complete, MigrationStateMachine.Next(committed, View(null, targetAlive: false)).Kind);
        Assert.Equal(MigrationStepKind.Wait, MigrationStateMachine.Next(committed, View(Status(New, Node2, ReplicaPhase.Running), after: TimeSpan.FromHours(1))).Kind);
        var state = DesiredState.Empty
            .Apply(new MigrationEvents.MigrationStarted("mig-1", Old, New, Node1, Node2, MigrationMode.FreezeAndCopy, "requested", Specs.Service(), 1, T0))
            .Apply(new MigrationEvents.MigrationProgressed("mig-1", Old, MigrationPhase.Committed, new MigrationTimings(), T0))
            .Apply(new MigrationEvents.MigrationRolledBack("mig-1", Old, "too late", T0));
        Assert.Equal(MigrationPhase.Committed, state.Migrations["mig-1"].Phase);
    }

    [Fact]
    public void Stateless_completes_once_the_replacement_is_available_and_rolls_back_when_the_old_one_goes()
    {
        var m = Record(MigrationMode.MakeBeforeBreak);
        Assert.Equal(MigrationStepKind.Wait, MigrationStateMachine.Next(m, View(Status(New, Node2, ReplicaPhase.Running))).Kind);
        Assert.Equal(MigrationStepKind.Complete, MigrationStateMachine.Next(m, View(Status(New, Node2, ReplicaPhase.Healthy), available: true)).Kind);
        var gone = MigrationStateMachine.Next(m, new MigrationView(null, Status(New, Node2, ReplicaPhase.Starting), false, true, false, T0));
        Assert.Equal(MigrationStepKind.RollBack, gone.Kind);
    }

    [Fact]
    public void The_journal_keeps_phase_figures_and_outcome()
    {
        var state = DesiredState.Empty
            .Apply(new MigrationEvents.MigrationStarted("mig-1", Old, New, Node1, Node2, MigrationMode.FreezeAndCopy, "requested", Specs.Service(), 1, T0))
            .Apply(new MigrationEvents.MigrationProgressed("mig-1", Old, MigrationPhase.Frozen, new MigrationTimings { PreCopyBytes = 100, PreCopyMs = 5 }, T0))
            .Apply(new MigrationEvents.MigrationProgressed("mig-1", Old, MigrationPhase.Committed, new MigrationTimings { PreCopyBytes = 100, FinalCopyBytes = 7, DowntimeMs = 120 }, T0))
            .Apply(new MigrationEvents.MigrationCompleted("mig-1", Old, new MigrationTimings { PreCopyBytes = 100, PreCopyMs = 5, FinalCopyBytes = 7, FinalCopyMs = 2, DowntimeMs = 120 }, T0.AddSeconds(3)));
        var m = state.Migrations["mig-1"];
        Assert.Equal((MigrationPhase.Completed, 107L, 120.0, 5.0, 3.0), (m.Phase, m.Timings.TotalBytes, m.Timings.DowntimeMs, m.Timings.PreCopyMs, m.DurationSeconds));
        Assert.Equal("moved to node2 as counter-b2b2b", m.Outcome);
        Assert.Contains("migration mig-1: counter-a1a1a moved (pre-copy 100 B in 5 ms, final copy", ClusterEvents.Describe(state.History[^1]), StringComparison.Ordinal);
    }
}
