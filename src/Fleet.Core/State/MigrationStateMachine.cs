namespace Fleet.Core.State;

/// <summary>MigrationStepKind is what the controller does next for one migration.</summary>
public enum MigrationStepKind
{
    /// <summary>Wait: nothing to do until the next report.</summary>
    Wait,

    /// <summary>Commit: the replacement's container started, so the source was fenced: journal the commit.</summary>
    Commit,

    /// <summary>Complete: the replacement serves (or the commit is past undoing): journal it and stop the source.</summary>
    Complete,

    /// <summary>RollBack: give up before commit: journal it, remove the replacement, thaw the source.</summary>
    RollBack,
}

/// <summary>MigrationStep is one decision of <see cref="MigrationStateMachine.Next"/>, with the reason for people.</summary>
public sealed record MigrationStep(MigrationStepKind Kind, string Reason)
{
    /// <summary>Wait is the step that changes nothing.</summary>
    public static readonly MigrationStep Wait = new(MigrationStepKind.Wait, "");
}

/// <summary>
/// MigrationView is what the controller observes about one migration when it decides: the two
/// replicas as their agents last reported them (null when not reported), whether the replacement's
/// start is still on its way, whether the target node's agent is there, and the time.
/// </summary>
public sealed record MigrationView(
    ReplicaStatus? Source,
    ReplicaStatus? Replacement,
    bool ReplacementPending,
    bool TargetAlive,
    bool ReplacementAvailable,
    DateTimeOffset Now);

/// <summary>
/// MigrationStateMachine decides a migration's next step from its journaled record and what is
/// observed — pure, so a controller that takes over after a fail-over decides from its journal
/// and the agents' inventories exactly as the old one would have. The rule that keeps a stateful
/// replica from ever running twice: before <see cref="MigrationPhase.Committed"/> every failure
/// rolls back (the source thaws and carries on, the replacement is removed); a replacement whose
/// container runs proves the source was fenced (the target starts only after the source agreed
/// never to resume), so from then on the migration only goes forward.
/// <code>
/// Preparing ─► Copying ─► Frozen ─► Committed ─► Completed
///     └──────────┴──────────┴──► RolledBack   (source carries on)
/// </code>
/// Make-before-break migrations go from Preparing straight to Completed (or RolledBack).
/// </summary>
public static class MigrationStateMachine
{
    /// <summary>Timeout bounds a migration before commit; past it the migration rolls back.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Next is the step for <paramref name="migration"/> given <paramref name="view"/>.</summary>
    public static MigrationStep Next(MigrationRecord migration, MigrationView view)
    {
        ArgumentNullException.ThrowIfNull(migration);
        ArgumentNullException.ThrowIfNull(view);
        if (migration.IsFinished)
        {
            return MigrationStep.Wait;
        }
        var replacement = view.Replacement;
        var started = replacement is { Phase: ReplicaPhase.Running or ReplicaPhase.Healthy };
        var failed = replacement is { Phase: ReplicaPhase.Exited or ReplicaPhase.Failed or ReplicaPhase.Stopping };
        var missing = replacement is null && !view.ReplacementPending;

        if (migration.Mode == MigrationMode.FreezeAndCopy && migration.Phase == MigrationPhase.Committed)
        {
            return view.ReplacementAvailable ? new MigrationStep(MigrationStepKind.Complete, $"{migration.Replacement} is available on {migration.To}")
                : failed ? new MigrationStep(MigrationStepKind.Complete, $"{migration.Replacement} {Text(replacement!)} after the commit; the source stays fenced and is removed")
                : !view.TargetAlive ? new MigrationStep(MigrationStepKind.Complete, $"{migration.To} left after the commit; the source stays fenced and is removed")
                : MigrationStep.Wait;
        }
        if (migration.Mode == MigrationMode.FreezeAndCopy && started)
        {
            return new MigrationStep(MigrationStepKind.Commit, $"{migration.Replacement} started on {migration.To}");
        }
        if (migration.Mode == MigrationMode.MakeBeforeBreak && view.ReplacementAvailable)
        {
            return new MigrationStep(MigrationStepKind.Complete, $"{migration.Replacement} is available on {migration.To}");
        }
        var giveUp = failed ? $"{migration.Replacement} {Text(replacement!)}"
            : missing ? $"{migration.Replacement} was never reported by {migration.To}"
            : !view.TargetAlive ? $"{migration.To} left"
            : migration.Mode == MigrationMode.MakeBeforeBreak && view.Source is null or { Phase: ReplicaPhase.Stopping }
                ? $"{migration.Replica} is gone or being stopped"
            : view.Now - migration.StartedAt > Timeout ? $"not done within {Timeout.TotalMinutes:0} minutes"
            : null;
        return giveUp is null ? MigrationStep.Wait : new MigrationStep(MigrationStepKind.RollBack, giveUp);
    }

    private static string Text(ReplicaStatus status) =>
        status.Reason is { Length: > 0 } reason ? $"{status.Phase.ToString().ToLowerInvariant()}: {reason}" : status.Phase.ToString().ToLowerInvariant();
}
