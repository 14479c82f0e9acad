using Fleet.Core.Ids;

namespace Fleet.Core.State;

/// <summary>
/// RolloutProtocol holds the rollout messages the cluster controller answers: the undo command
/// (answered with a <see cref="CommandResult"/>) and the query behind `fleetctl rollout status`
/// and `fleetctl rollout history`.
/// </summary>
public static class RolloutProtocol
{
    /// <summary>
    /// Undo rolls a service back to the template of generation <paramref name="ToGeneration"/>,
    /// or, when null, of the latest earlier revision whose template differs from the current one.
    /// </summary>
    public sealed record Undo(ServiceName Service, long? ToGeneration, DateTimeOffset At);

    /// <summary>GetRollout asks for the progress of a service's current rollout and its revision history.</summary>
    public sealed record GetRollout(ServiceName Service);

    /// <summary>
    /// RolloutProgress is where the rollout of revision <paramref name="Generation"/> stands:
    /// <paramref name="Updated"/> replicas run its template (of <paramref name="Desired"/>),
    /// <paramref name="Available"/> of those are available, <paramref name="Old"/> replicas of older
    /// templates remain, and its new replicas failed <paramref name="Failures"/> times.
    /// <paramref name="Reason"/> says why it failed.
    /// </summary>
    public sealed record RolloutProgress(
        long Generation,
        long ServiceGeneration,
        RolloutOutcome Outcome,
        int Desired,
        int Updated,
        int Available,
        int Old,
        int Failures,
        string? Reason);

    /// <summary>RolloutResponse answers <see cref="GetRollout"/>; <paramref name="Progress"/> is null when the service does not exist.</summary>
    public sealed record RolloutResponse(ServiceName Service, RolloutProgress? Progress, IReadOnlyList<ServiceRevision> Revisions);
}
