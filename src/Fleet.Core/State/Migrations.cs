using System.Collections.Immutable;
using Fleet.Core.Ids;
using Fleet.Core.Specs;

namespace Fleet.Core.State;

/// <summary>MigrationMode is how a replica moves: make-before-break (stateless) or freeze-and-copy (stateful).</summary>
public enum MigrationMode
{
    /// <summary>MakeBeforeBreak starts the replacement, waits until it is available, then stops the old replica with its grace period.</summary>
    MakeBeforeBreak,

    /// <summary>FreezeAndCopy pre-copies the writable layer and volumes, freezes the source, copies what changed, starts the replacement with them.</summary>
    FreezeAndCopy,
}

/// <summary>
/// MigrationPhase is where a migration is. The order matters: before <see cref="Committed"/> a
/// failure rolls back (the source carries on); from <see cref="Committed"/> on the source never
/// runs again (it is fenced) and the migration can only go forward.
/// </summary>
public enum MigrationPhase
{
    /// <summary>Preparing: journaled; the target was asked to start (stateless) or to copy (stateful).</summary>
    Preparing,

    /// <summary>Copying: the target pre-copies the writable layer and volumes while the source runs.</summary>
    Copying,

    /// <summary>Frozen: the source is frozen (cgroup freezer); the target copies what changed.</summary>
    Frozen,

    /// <summary>Committed: the source is fenced and the replacement starts on the target.</summary>
    Committed,

    /// <summary>Completed: the replacement serves and the source is stopped.</summary>
    Completed,

    /// <summary>RolledBack: given up before commit; the source carries on, the replacement is removed.</summary>
    RolledBack,
}

/// <summary>
/// MigrationTimings are the figures of one migration, for `get migrations`, events and metrics.
/// Durations are in milliseconds; null while the phase has not happened.
/// </summary>
public sealed record MigrationTimings
{
    /// <summary>PrepareMs is from the request to the target starting its work (image resolved, bundle ready to fill).</summary>
    public double? PrepareMs { get; init; }

    /// <summary>PreCopyBytes are the bytes copied while the source ran.</summary>
    public long PreCopyBytes { get; init; }

    /// <summary>PreCopyMs is how long the pre-copy took.</summary>
    public double? PreCopyMs { get; init; }

    /// <summary>FreezeMs is how long the source stayed frozen before it was fenced (final copy included).</summary>
    public double? FreezeMs { get; init; }

    /// <summary>FinalCopyBytes are the bytes copied while the source was frozen.</summary>
    public long FinalCopyBytes { get; init; }

    /// <summary>FinalCopyMs is how long the final copy took.</summary>
    public double? FinalCopyMs { get; init; }

    /// <summary>DowntimeMs is from the freeze to the replacement's container running (stateful), 0 for make-before-break.</summary>
    public double? DowntimeMs { get; init; }

    /// <summary>TotalBytes are all bytes moved.</summary>
    public long TotalBytes => PreCopyBytes + FinalCopyBytes;

    /// <summary>Merge keeps what <paramref name="later"/> knows and this one's figures where it says nothing.</summary>
    public MigrationTimings Merge(MigrationTimings later)
    {
        ArgumentNullException.ThrowIfNull(later);
        return new MigrationTimings
        {
            PrepareMs = later.PrepareMs ?? PrepareMs,
            PreCopyBytes = Math.Max(later.PreCopyBytes, PreCopyBytes),
            PreCopyMs = later.PreCopyMs ?? PreCopyMs,
            FreezeMs = later.FreezeMs ?? FreezeMs,
            FinalCopyBytes = Math.Max(later.FinalCopyBytes, FinalCopyBytes),
            FinalCopyMs = later.FinalCopyMs ?? FinalCopyMs,
            DowntimeMs = later.DowntimeMs ?? DowntimeMs,
        };
    }
}

/// <summary>
/// MigrationRecord is one migration as the controller's journal knows it: which replica moves
/// where, as which replacement, in which mode, and how far it got.
/// </summary>
public sealed record MigrationRecord(
    string Id,
    ReplicaId Replica,
    ReplicaId Replacement,
    NodeName From,
    NodeName To,
    MigrationMode Mode,
    MigrationPhase Phase,
    string Reason,
    DateTimeOffset StartedAt)
{
    /// <summary>Spec is the service spec the replacement runs.</summary>
    public ServiceSpec? Spec { get; init; }

    /// <summary>Generation is the service generation the replacement runs.</summary>
    public long Generation { get; init; }

    /// <summary>BandwidthBytesPerSecond caps the transfer (null: no cap).</summary>
    public long? BandwidthBytesPerSecond { get; init; }

    /// <summary>FinishedAt is when it completed or rolled back.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Outcome says why it rolled back, or how it completed.</summary>
    public string? Outcome { get; init; }

    /// <summary>Timings are the phase figures reported so far.</summary>
    public MigrationTimings Timings { get; init; } = new();

    /// <summary>IsFinished is true once completed or rolled back.</summary>
    public bool IsFinished => Phase is MigrationPhase.Completed or MigrationPhase.RolledBack;

    /// <summary>DurationSeconds is from start to finish (null while running).</summary>
    public double? DurationSeconds => FinishedAt is { } end ? (end - StartedAt).TotalSeconds : null;
}

/// <summary>IMigrationEvent is a journaled fact about one migration.</summary>
public interface IMigrationEvent : IClusterEvent
{
    /// <summary>Migration is the migration's id.</summary>
    string Migration { get; }

    /// <summary>Replica is the replica being moved.</summary>
    ReplicaId Replica { get; }
}

/// <summary>MigrationEvents are the persisted events of migrations.</summary>
public static class MigrationEvents
{
    /// <summary>MigrationStarted records the decision to move <paramref name="Replica"/> to <paramref name="To"/> as <paramref name="Replacement"/>.</summary>
    public sealed record MigrationStarted(
        string Migration,
        ReplicaId Replica,
        ReplicaId Replacement,
        NodeName From,
        NodeName To,
        MigrationMode Mode,
        string Reason,
        ServiceSpec Spec,
        long Generation,
        DateTimeOffset At) : IMigrationEvent
    {
        /// <summary>BandwidthBytesPerSecond caps the transfer (null: no cap).</summary>
        public long? BandwidthBytesPerSecond { get; init; }
    }

    /// <summary>MigrationProgressed records that a migration reached <paramref name="Phase"/>, with the figures so far.</summary>
    public sealed record MigrationProgressed(string Migration, ReplicaId Replica, MigrationPhase Phase, MigrationTimings Timings, DateTimeOffset At) : IMigrationEvent;

    /// <summary>MigrationCompleted records that the replacement serves and the source was stopped.</summary>
    public sealed record MigrationCompleted(string Migration, ReplicaId Replica, MigrationTimings Timings, DateTimeOffset At) : IMigrationEvent;

    /// <summary>MigrationRolledBack records that the migration was given up before commit; the source carries on.</summary>
    public sealed record MigrationRolledBack(string Migration, ReplicaId Replica, string Reason, DateTimeOffset At) : IMigrationEvent;

    /// <summary>Describe is the one-line text of a migration event, with its phase figures.</summary>
    public static string Describe(IMigrationEvent e) => e switch
    {
        MigrationStarted s => $"migration {s.Migration}: moving {s.Replica} from {s.From} to {s.To} as {s.Replacement} ({ModeText(s.Mode)}; {s.Reason})",
        MigrationProgressed p => $"migration {p.Migration}: {p.Replica} {p.Phase.ToString().ToLowerInvariant()} ({Figures(p.Timings)})",
        MigrationCompleted c => $"migration {c.Migration}: {c.Replica} moved ({Figures(c.Timings)})",
        MigrationRolledBack r => $"migration {r.Migration}: rolled back, {r.Replica} carries on: {r.Reason}",
        _ => $"migration {e.Migration}: {e.GetType().Name}",
    };

    /// <summary>Kind is the short name of a migration event, stable for scripts.</summary>
    public static string Kind(IMigrationEvent e) => e switch
    {
        MigrationStarted => "migration-started",
        MigrationProgressed => "migration-progressed",
        MigrationCompleted => "migration-completed",
        MigrationRolledBack => "migration-rolled-back",
        _ => "unknown",
    };

    /// <summary>ModeText names a mode for people.</summary>
    public static string ModeText(MigrationMode mode) => mode == MigrationMode.FreezeAndCopy
        ? "stateful: freeze-and-copy of the writable layer and volumes"
        : "stateless: make-before-break";

    /// <summary>Figures renders the known phase figures: prepare, pre-copy bytes, freeze, final copy bytes, downtime.</summary>
    public static string Figures(MigrationTimings t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var parts = new List<string>();
        if (t.PrepareMs is { } prepare)
        {
            parts.Add($"prepare {prepare:0} ms");
        }
        if (t.PreCopyMs is { } pre)
        {
            parts.Add($"pre-copy {t.PreCopyBytes} B in {pre:0} ms");
        }
        if (t.FreezeMs is { } freeze)
        {
            parts.Add($"frozen {freeze:0} ms");
        }
        if (t.FinalCopyMs is { } final)
        {
            parts.Add($"final copy {t.FinalCopyBytes} B in {final:0} ms");
        }
        if (t.DowntimeMs is { } down)
        {
            parts.Add($"downtime {down:0} ms");
        }
        return parts.Count == 0 ? "no figures yet" : string.Join(", ", parts);
    }
}

/// <summary>MigrationCommands are the requests about migrations the controller judges.</summary>
public static class MigrationCommands
{
    /// <summary>Migrate moves <paramref name="Replica"/> to <paramref name="To"/> (the scheduler picks when null).</summary>
    public sealed record Migrate(ReplicaId Replica, NodeName? To, long? BandwidthBytesPerSecond, DateTimeOffset At);

    /// <summary>MigrateResult answers <see cref="Migrate"/>: the migration's record when accepted, else why not.</summary>
    public sealed record MigrateResult(bool Accepted, string Message, MigrationRecord? Migration);

    /// <summary>GetMigrations asks for the migrations in flight and the recent finished ones.</summary>
    public sealed record GetMigrations;

    /// <summary>MigrationsResponse answers <see cref="GetMigrations"/>, newest first.</summary>
    public sealed record MigrationsResponse(IReadOnlyList<MigrationRecord> Migrations);
}

/// <summary>MigrationBook is the journaled set of migrations: those in flight and the most recent finished ones.</summary>
public static class MigrationBook
{
    /// <summary>FinishedKept is how many finished migrations are kept for `get migrations`.</summary>
    public const int FinishedKept = 32;

    /// <summary>Apply folds a migration event into <paramref name="book"/> (keyed by migration id).</summary>
    public static ImmutableSortedDictionary<string, MigrationRecord> Apply(ImmutableSortedDictionary<string, MigrationRecord> book, IMigrationEvent e)
    {
        ArgumentNullException.ThrowIfNull(book);
        ArgumentNullException.ThrowIfNull(e);
        if (e is MigrationEvents.MigrationStarted s)
        {
            return Trim(book.SetItem(s.Migration, new MigrationRecord(s.Migration, s.Replica, s.Replacement, s.From, s.To, s.Mode, MigrationPhase.Preparing, s.Reason, s.At)
            {
                Spec = s.Spec,
                Generation = s.Generation,
                BandwidthBytesPerSecond = s.BandwidthBytesPerSecond,
            }));
        }
        if (!book.TryGetValue(e.Migration, out var record) || record.IsFinished)
        {
            return book;
        }
        var next = e switch
        {
            MigrationEvents.MigrationProgressed p when p.Phase > record.Phase && p.Phase < MigrationPhase.Completed =>
                record with { Phase = p.Phase, Timings = record.Timings.Merge(p.Timings) },
            MigrationEvents.MigrationProgressed p => record with { Timings = record.Timings.Merge(p.Timings) },
            MigrationEvents.MigrationCompleted c => record with
            {
                Phase = MigrationPhase.Completed,
                Timings = record.Timings.Merge(c.Timings),
                FinishedAt = c.At,
                Outcome = $"moved to {record.To} as {record.Replacement}",
            },
            MigrationEvents.MigrationRolledBack r when record.Phase < MigrationPhase.Committed => record with
            {
                Phase = MigrationPhase.RolledBack,
                FinishedAt = r.At,
                Outcome = r.Reason,
            },
            _ => record,
        };
        return Trim(book.SetItem(record.Id, next));
    }

    private static ImmutableSortedDictionary<string, MigrationRecord> Trim(ImmutableSortedDictionary<string, MigrationRecord> book)
    {
        var finished = book.Values.Where(m => m.IsFinished).OrderBy(m => m.FinishedAt).ToList();
        return finished.Count <= FinishedKept ? book : book.RemoveRange(finished.Take(finished.Count - FinishedKept).Select(m => m.Id));
    }
}
