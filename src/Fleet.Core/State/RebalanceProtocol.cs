using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>RebalanceProtocol holds `fleetctl rebalance`'s command and query to the controller and their reply.</summary>
public static class RebalanceProtocol
{
    /// <summary>
    /// Rebalance plans a rebalance now, ignoring the settle delay and `rebalance.enabled`. With
    /// <paramref name="DryRun"/> nothing moves and the reply lists the moves one round would make;
    /// without, the first round starts at once and later rounds follow as moves complete.
    /// </summary>
    public sealed record Rebalance(bool DryRun, DateTimeOffset At);

    /// <summary>GetRebalance asks how the current (or last) rebalance is going.</summary>
    public sealed record GetRebalance;

    /// <summary>MoveState is where one move of a rebalance is.</summary>
    public enum MoveState
    {
        /// <summary>Planned: a dry run's move, not started.</summary>
        Planned,

        /// <summary>Moving: started; the replacement is not yet available (or the stateful original not yet stopped).</summary>
        Moving,

        /// <summary>Done: the replacement runs and the original was stopped.</summary>
        Done,

        /// <summary>GivenUp: the replacement failed or took too long; the original stays.</summary>
        GivenUp,
    }

    /// <summary>Move is one row of the plan: replica, from, to, its replacement's id (none in a dry run) and why.</summary>
    public sealed record Move(ReplicaId Replica, NodeName From, NodeName To, ReplicaId? Replacement, string Reason, MoveState State);

    /// <summary>
    /// RebalanceResponse answers both: the moves (planned, or of the current run), notes (why
    /// nothing or not more moves: "2 migrations already in flight"), whether a rebalance is still in
    /// progress, and what started it.
    /// </summary>
    public sealed record RebalanceResponse(IReadOnlyList<Move> Moves, IReadOnlyList<string> Notes, bool InProgress, string Trigger);
}
